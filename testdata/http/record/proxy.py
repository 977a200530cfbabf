#!/usr/bin/python3
"""A minimal HTTP CONNECT proxy (asyncio): CONNECT host:port, answer 200,
relay bytes both ways. Only 127.0.0.1 targets are allowed.
Usage: proxy.py PORT"""
import asyncio
import sys


async def pipe(r, w):
    try:
        while data := await r.read(65536):
            w.write(data)
            await w.drain()
    finally:
        w.close()


async def handle(cr, cw):
    head = await cr.readuntil(b"\r\n\r\n")
    method, target, _ = head.split(b"\r\n")[0].split(b" ")
    host, port = target.rsplit(b":", 1)
    if method != b"CONNECT" or host != b"127.0.0.1":
        cw.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        cw.close()
        return
    sr, sw = await asyncio.open_connection(host.decode(), int(port))
    cw.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
    await cw.drain()
    sys.stderr.write("CONNECT %s\n" % target.decode())
    await asyncio.gather(pipe(cr, sw), pipe(sr, cw))


async def main():
    srv = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]))
    async with srv:
        await srv.serve_forever()

asyncio.run(main())
