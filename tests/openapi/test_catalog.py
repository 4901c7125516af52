"""``openapi.load_catalog``: several documents, one per model, frozen together."""

from __future__ import annotations

from pathlib import Path

import pytest

import openapi
from tests._support import SECOND_DOCUMENT, document, task_schema, variant, write


def test_no_source_is_the_bundled_document() -> None:
    catalog = openapi.load_catalog()
    assert catalog.specs == (openapi.load(),)
    assert catalog is openapi.Catalog.of(openapi.load())  # built once per Spec
    assert openapi.Catalog.of(catalog) is catalog


def test_files_specs_and_directories_in_the_order_given(tmp_path: Path) -> None:
    folder = tmp_path / "models"
    write(folder, "b.openapi.json", variant("acme:b@1"))
    write(folder, "a.openapi.json", variant("acme:a@1", base="second"))
    write(folder, "notes.json", {"not": "a document"})  # ignored: *.openapi.json are named
    catalog = openapi.load_catalog(openapi.load(), SECOND_DOCUMENT, folder)
    assert catalog.model_ids == ("alibaba:qwen@3.5-397b", "minimax:m2.7@0", "acme:a@1", "acme:b@1")
    assert len(catalog) == 4
    assert [spec.model_id for spec in catalog] == list(catalog.model_ids)
    assert catalog.first is openapi.load()
    assert catalog.for_model("acme:b@1").title == "Runware API - acme:b@1"  # type: ignore[union-attr]
    assert catalog.for_model("acme:c@1") is None
    assert catalog.for_model(["not", "hashable"]) is None


def test_a_directory_without_openapi_names_takes_every_json_file(tmp_path: Path) -> None:
    write(tmp_path, "one.json", variant("acme:one@1"))
    write(tmp_path, "two.json", variant("acme:two@1"))
    assert openapi.load_catalog(tmp_path).model_ids == ("acme:one@1", "acme:two@1")


def test_the_same_file_twice_is_loaded_once(tmp_path: Path) -> None:
    path = write(tmp_path, "m.openapi.json", variant("acme:m@1"))
    catalog = openapi.load_catalog(path, tmp_path, str(path))
    assert catalog.model_ids == ("acme:m@1",)


def test_two_documents_for_one_model_name_both(tmp_path: Path) -> None:
    first = write(tmp_path, "first.openapi.json", variant("acme:m@1"))
    second = write(tmp_path, "second.openapi.json", variant("acme:m@1", base="second"))
    with pytest.raises(openapi.SpecError) as caught:
        openapi.load_catalog(first, second)
    assert caught.value.kind == "duplicate-model"
    assert str(first) in str(caught.value)
    assert str(second) in str(caught.value)
    assert "'acme:m@1'" in str(caught.value)


def test_an_empty_directory_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(openapi.SpecError, match=r"holds no \*\.json document") as caught:
        openapi.load_catalog(tmp_path)
    assert (caught.value.kind, caught.value.source) == ("io", str(tmp_path))


def test_a_bad_document_in_a_directory_names_its_file(tmp_path: Path) -> None:
    write(tmp_path, "good.openapi.json", variant("acme:good@1"))
    bad = variant("acme:bad@1")
    task_schema(bad)["properties"]["seed"]["minimum"] = "zero"
    path = write(tmp_path, "bad.openapi.json", bad)
    with pytest.raises(openapi.SpecError) as caught:
        openapi.load_catalog(tmp_path)
    assert (caught.value.kind, caught.value.source) == ("invalid-schema", str(path))
    assert caught.value.pointer == "/components/schemas/RequestBody/items/properties/seed/minimum"


def test_other_arguments_are_refused() -> None:
    with pytest.raises(TypeError, match="takes paths, directories, Specs or Catalogs"):
        openapi.load_catalog(42)  # type: ignore[arg-type]
    with pytest.raises(openapi.SpecError) as caught:
        openapi.Catalog(())
    assert caught.value.kind == "empty"


def test_the_catalogue_is_immutable() -> None:
    catalog = openapi.load_catalog(openapi.load(), SECOND_DOCUMENT)
    with pytest.raises(AttributeError):
        catalog.specs = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        catalog._by_model["x"] = openapi.load()  # type: ignore[index]


@pytest.mark.parametrize(
    ("asked", "nearest"),
    [
        pytest.param("minimax:m2.7@1", ("minimax:m2.7@0",), id="another-version"),
        pytest.param("MINIMAX:M2.7@0", ("minimax:m2.7@0",), id="case"),
        pytest.param("alibaba:qwen@3.5", ("alibaba:qwen@3.5-397b",), id="short-version"),
        pytest.param("openai:gpt-4o@1", (), id="nothing-alike"),
    ],
)
def test_nearest_model_ids(asked: str, nearest: tuple[str, ...]) -> None:
    catalog = openapi.load_catalog(openapi.load(), SECOND_DOCUMENT)
    assert catalog.nearest(asked) == nearest


def test_nearest_prefers_the_same_model_and_caps_the_count(tmp_path: Path) -> None:
    for version in range(5):
        write(tmp_path, f"v{version}.openapi.json", variant(f"acme:chat@{version}"))
    write(tmp_path, "other.openapi.json", variant("acme:chatter@9"))
    catalog = openapi.load_catalog(tmp_path)
    assert catalog.nearest("acme:chat@7") == ("acme:chat@0", "acme:chat@1", "acme:chat@2")
    assert len(catalog.nearest("acme:chat@7", n=10)) == 6


def test_a_variant_loads_with_its_own_limits(tmp_path: Path) -> None:
    doc = variant(
        "acme:v@1",
        temperature_max=0.5,
        delivery_methods=["sync", "async"],
        extra_setting="beamWidth",
    )
    spec = openapi.load_catalog(write(tmp_path, "v.openapi.json", doc)).first
    assert spec.parameter("settings.temperature").maximum == 0.5
    assert spec.delivery_methods == ("sync", "async")
    assert "beamWidth" in {p.name for p in spec.settings}
    assert document()["info"]["title"] == "Runware API - Qwen3.5-397B"  # a copy was changed


def test_a_variant_is_checked_only_where_it_differs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The meta-schema check runs once per distinct schema object: a document that differs
    from one loaded before in a limit and its model id costs two checks, not a hundred."""
    from openapi import _load

    openapi.load(write(tmp_path, "base.openapi.json", variant("acme:base@1")))
    meta = _load._meta_validator()
    checked: list[object] = []

    class Counting:
        def iter_errors(self, schema: object) -> object:
            checked.append(schema)
            return meta.iter_errors(schema)

    monkeypatch.setattr(_load, "_meta_validator", Counting)
    openapi.load(write(tmp_path, "hot.openapi.json", variant("acme:hot@1", temperature_max=1.9)))
    assert len(checked) == 2, checked  # settings.temperature, and the model's const
    bad = variant("acme:bad@2", temperature_max=1.9)
    task_schema(bad)["properties"]["settings"]["properties"]["topP"]["type"] = "real"
    with pytest.raises(openapi.SpecError) as caught:  # a change is still checked
        openapi.load(write(tmp_path, "bad.openapi.json", bad))
    assert caught.value.pointer.endswith("/settings/properties/topP/type")
