"""All VRRP instances of one config, sans-I/O (aioquic's shape, see STYLE.md).

The runtime (asyncio, real sockets), the console and the tests drive this the same
way: feed it packets, timer expiries and operator commands with `now` (seconds,
monotonic), carry out the actions it returns, log/show the events, and wake it at
`get_timer()`.

CONTRACT (the runtime and console are written against it):

    engine = Engine(config, primary_addresses={"VI_1": IPv4Address("192.168.1.11")}, now=t)
    outs = engine.start(now)
    outs = engine.receive_packet(ifname, src, dst, ttl, payload, now)  # bytes after the IP header
    outs = engine.handle_timer(now)            # call when now >= get_timer()
    t    = engine.get_timer()                  # next deadline or None
    outs = engine.set_priority(name, prio, now)  # operator: 1..254, held until resume
    outs = engine.demote(name, now)            # priority-0 advert, VIPs removed, hold BACKUP
    outs = engine.force_failover(name, now)    # master: go silent (no prio 0), VIPs removed, hold;
                                               # backup: take over now
    outs = engine.resume(name, now)            # configured priority, normal behaviour
    outs = engine.interface_state(ifname, up, now)   # netlink link up/down
    outs = engine.script_state(script_name, ok, now) # vrrp_script result after rise/fall
    outs = engine.shutdown(now)                # masters: prio-0 advert + RemoveVips; RunNotify STOP
    outs = engine.reload(new_config, primary_addresses, now)  # unchanged instances keep state
    engine.status(now) -> tuple[InstanceStatus, ...]
    engine.advert_bytes(name, priority, src, dst) -> bytes     # cached encoded advert

Outputs are the types in vrrptui.engine.outputs, in the order they must be carried out.
"""
