"""What the pages, the API and the commands do, below the web: reads, writes, reports.

A service takes a session and plain values, flushes and never commits; the request (or
the command) that called it commits once. Nothing here imports Flask's request, a form or
a feature package: what two features share lives here.
"""
