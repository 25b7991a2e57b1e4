"""Sans-I/O protocol core: framing, state model and hash, handshake, voice.

Nothing here opens sockets, starts threads or reads clocks; the server and
client adapters feed bytes in and send what comes out.
"""
