"""BitTorrent through libtorrent, set up the one way both ends use it (docs/SHARING.md)."""
