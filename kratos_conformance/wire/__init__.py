"""Talking to the server under test, and what is kept of it.

``clients`` (the three client kinds: native, browser, SPA), ``http_transport`` (their one TLS setup),
``exchanges`` (every request and its response, recorded), ``redact`` (secrets out of a recording as it is made),
``curl`` (the line that sends a recorded request again), ``media_types`` (a Content-Type read one way) and
``query`` (a URL's query parameter read one way).
"""
