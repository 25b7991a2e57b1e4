"""voip-bot: a headless front end over the client backend, with files for devices."""
