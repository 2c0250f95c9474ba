"""``make bench``: the reference scenario measured against its ceiling.

An HTTP trigger starts a flow that sets three variables, POSTs them as JSON to an external
API (the stub), maps two fields of the answer and ends; the flow-complete webhook then
POSTs the default payload to a receiver. A flow counts as done when the receiver has its
payload. The same job written as a bare aiohttp program (``bench.ceiling``) runs in the same
invocation, so every figure is also a ratio of that ceiling.

Modules: ``scenario`` (the flow, the stub's answer), ``stub`` (external API + receiver),
``loadgen`` (closed and open loop), ``ceiling`` (the bare program), ``procs`` (processes,
/proc accounting), ``postgres`` (a throw-away PostgreSQL server, shared with the tests),
``seed`` (the account's flow and webhook, the backlog), ``profile`` (py-spy's samples by
area of the code), ``report`` (tables and result files), ``config`` (the command line) and
``run`` (the orchestrator: ``python -m bench.run``). Nothing here imports ``tests/``.
"""
