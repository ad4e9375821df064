"""The control socket between `wezparctl` and the daemon (the protocol: docs/protocol.md).

`client` (blocking, standard library only) is imported by every `wezparctl` run; `server`
(asyncio) and `handlers` only by the daemon. Nothing is imported here, so importing the client
does not drag the server in.
"""
