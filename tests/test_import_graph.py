"""The import graph: no module reaches itself through others (the layers are import-linter's)."""

import grimp


def test_no_import_cycles():
    graph = grimp.build_graph("unlock_app", "enrollment")
    ours = {module for module in graph.modules if module.startswith(("unlock_app", "enrollment"))}
    cycles = sorted(
        (importer, imported)
        for importer in ours
        for imported in graph.find_modules_directly_imported_by(importer) & ours
        if graph.find_shortest_chain(importer=imported, imported=importer)
    )
    assert not cycles, f"import cycles through: {cycles}"
