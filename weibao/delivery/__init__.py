"""Delivery to the desk, shared by the agent and the collector: the push client (HTTPS
with retries, what the desk's answers mean) and the disk spool that keeps observations
while the desk is away, with the JSON form both write (:mod:`weibao.delivery.wire`).

The one part of ``weibao`` besides its command that does I/O (httpx, files): the
architecture test allows it httpx and nothing else, and nothing of the domain imports it.
It loads no pydantic, so the agent stays small on a customer's server.
"""
