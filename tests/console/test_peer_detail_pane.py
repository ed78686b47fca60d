"""Enter on a Peers row opens that router's detail; passwords stay masked unless --show-secrets."""

from __future__ import annotations

import asyncio

import harness as h


def open_detail(tmp_path, show_secrets: bool):
    async def main():
        app = h.make_app(tmp_path)
        app.show_secrets = show_secrets
        async with app.run_test(size=(150, 45)) as pilot:
            app.observe([h.snapshot(h.status())] +  # dates engine times: wall = engine + WALL - NOW
                        [h.heard(h.advert(at=h.NOW - 5 + i * 1.01), h.MAC_PEER) for i in range(5)])
            app.refresh_panes()
            await pilot.pause()
            await pilot.press("4")  # Peers
            await pilot.pause()
            app.refresh_panes()
            await pilot.pause()
            peers_auth = str(app.query_one("#peers").get_row_at(0)[6])
            await pilot.press("enter")
            await pilot.pause()
            shown = str(app.screen.query_one("#peer-detail-text").render())
            await pilot.press("escape")
            await pilot.pause()
            return peers_auth, shown, type(app.screen).__name__

    return asyncio.run(main())


def test_enter_on_a_peer_shows_mac_history_jitter_and_last_adverts_with_the_password_masked(tmp_path):
    peers_auth, shown, after = open_detail(tmp_path, show_secrets=False)
    assert peers_auth == "pass:****"
    assert "1212" not in shown
    assert f"MAC {h.MAC_PEER}" in shown
    assert "now master, priority 101, auth pass:****, 5 adverts" in shown
    assert "(advertised 1s; last 4 gaps): mean 1010.0 ms, min 1010.0, max 1010.0, jitter (std dev) 0.0 ms" in shown
    assert "22:13:15.000  first heard, priority 101" in shown
    assert "22:13:19.040  v2 prio 101 intvl 1s VIPs 192.168.1.13 auth pass:****" in shown
    assert after == "Screen"


def test_show_secrets_shows_the_password(tmp_path):
    peers_auth, shown, _ = open_detail(tmp_path, show_secrets=True)
    assert peers_auth == "pass:1212"
    assert "auth pass:1212" in shown
