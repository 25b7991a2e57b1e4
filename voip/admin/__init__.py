"""``voip-admin``: a front end that administers a running server over the normal protocol."""
