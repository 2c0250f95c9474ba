"""``make bench``: the reference scenario measured against its ceiling.

An HTTP trigger starts a flow that sets three variables, POSTs them as JSON to an external
API (the stub), maps two fields of the answer and ends; the flow-complete webhook then
POSTs the default payload to a receiver. A flow counts as done when the receiver has its
payload. The same job written as a bare aiohttp program (``bench.ceiling``) runs in the same
invocation, so every figure is also a ratio of that ceiling.

Modules: ``scenario`` (the flow, the stub's answer), ``stub`` (external API + receiver),
``loadgen`` (closed and open loop), ``ceiling`` (the bare program), ``procs`` (processes,
/proc accounting), ``run`` (the orchestrator: ``python -m bench.run``).
"""
