"""The asyncio runtime around the sans-I/O engine: headless daemon, control socket, scripts. No textual."""
