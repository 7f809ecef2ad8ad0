# docs.nix: a basic documentation generating module; `docs` holds every option's doc
# record (lib.option_attr_set_to_doc_list), by name.
from declos.config import Option, lazy, types

options = {
    "docs": Option(
        types.lazy_attrs_of(types.raw),
        description="All options to be rendered, without any visibility filtering applied.",
    )
}


def config(options, lib):
    def docs():
        out = {}
        for record in lib.option_attr_set_to_doc_list(options):
            if record["name"] in out:
                raise AssertionError(f"Multiple options with the same name: {record['name']}")
            out[record["name"]] = record
        return out

    return {"docs": lazy(docs)}
