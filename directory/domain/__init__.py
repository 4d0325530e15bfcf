"""Domain rules in plain Python: no Flask import here. Functions take a session and an explicit actor."""
