"""Flow documents from text: JSON, or YAML read by the one loader every YAML flow goes
through (the API's ``POST``/``PUT /v1/flows`` and ``flowhook run``).

The loader is PyYAML's safe loader with three fences, because a YAML document can cost far
more than its size:

- **No anchors or aliases** (422 ``YAML_ALIAS_FORBIDDEN``). An alias repeats a whole
  sub-tree, and the flow is stored as JSON with every repetition written out: a 103 KB
  body became a 114 MB flow. Counting values after loading came too late (the expansion
  had happened) and counts values, not bytes. Refusing them costs authors little — a
  flow's widgets differ — where bounding the expansion would need a second size rule.
- **Nesting bounded while composing** (422 ``NESTED_TOO_DEEP``) at the depth flows may
  have anyway (:data:`flowhook.engine.state.MAX_DEPTH`), before the recursive composer
  and constructor go deeper. libyaml's scanner stops at 1,000 levels by itself; the
  pure-Python scanner (used only where PyYAML was built without libyaml) is stopped at
  the same depth, as it slows down quadratically with depth (a 240 KB, 120,000-deep body
  held the event loop for seconds).
- **Text checked as it is read** (:mod:`flowhook.text`): NUL and lone surrogates, which
  YAML's escapes (``"\\0"``, ``"\\ud800"``) can write, get the same 422 as in JSON.

libyaml parses (C, ≈7× faster than the Python parser) and a Python composer on top of its
events applies the fences (aliases are resolved by libyaml's own composer, out of reach):
:mod:`flowhook.engine.yaml_fence`, imported only when a YAML document is read (PyYAML takes
longer to import than ``flowhook run`` takes to read a JSON flow).
"""

from __future__ import annotations

from typing import Any

from flowhook import codec
from flowhook.engine.state import MAX_DEPTH
from flowhook.errors import BadRequest, Code, NestedTooDeep


def too_deep() -> NestedTooDeep:
    return NestedTooDeep(f"the document nests lists and objects more than {MAX_DEPTH} levels deep")


def load_json(raw: bytes | str) -> Any:
    """A JSON document; 400 ``MALFORMED_JSON`` when it is not JSON. The parser stops by
    itself past ≈1,000 levels (orjson's limit, then the standard library's recursion
    limit); deeper than :data:`MAX_DEPTH` is refused by the flow's validation."""
    try:
        return codec.loads(raw)
    except RecursionError:
        raise too_deep() from None
    except ValueError:
        raise BadRequest("the request body is not valid JSON", code=Code.MALFORMED_JSON) from None


def load_yaml(data: bytes | str) -> Any:
    """A YAML (or JSON) document through the fenced loader; 400 ``MALFORMED_YAML`` when it
    is not YAML."""
    import yaml

    from flowhook.engine.yaml_fence import Loader

    loader = Loader(data)
    try:
        return loader.get_single_data()
    except RecursionError:  # not expected with the fences; a 500 would be worse
        raise too_deep() from None
    except yaml.YAMLError as exc:
        if "maximum nesting depth" in str(exc):  # libyaml's own limit, met while scanning
            raise too_deep() from None
        raise BadRequest(f"the body is not valid YAML: {exc}", code=Code.MALFORMED_YAML) from None
    finally:
        loader.dispose()
