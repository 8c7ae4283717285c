"""Topics of the sample library with the demo model: each photo in one topic, each topic named by
what most of its photos show, its photos listed nearest its centre first, filters applied."""

from __future__ import annotations

from collections import Counter

import gradio as gr
import pytest

from clipsearch import InvalidQuery, SearchFilter
from clipsearch.demo import DEMO_WORDS
from clipsearch.topics import topic_count

DEMO_WORDS = list(DEMO_WORDS)  # the demo model reads captions of coloured shapes: its vocabulary


def fits(topic, truth) -> bool:
    """Whether the topic's name says what most of its photos show: their commonest shape or colour."""
    colours = Counter(c for path in topic.paths for c in {c for c, _ in truth[path]})
    shapes = Counter(s for path in topic.paths for s in {s for _, s in truth[path]})
    _, colour, shape = topic.name.split(" ")
    return shape == shapes.most_common(1)[0][0] or colour == colours.most_common(1)[0][0]


def test_the_sample_librarys_topics_name_what_their_photos_show(demo_engine, truth):
    topics = demo_engine.topics(words=DEMO_WORDS)
    count = demo_engine.info()["count"]
    assert len(topics) == topic_count(count) and sum(t.size for t in topics) == count
    assert len({path for t in topics for path in t.paths}) == count  # each photo in one topic
    assert [t.size for t in topics] == sorted((t.size for t in topics), reverse=True)
    assert len({t.name for t in topics}) == len(topics)
    named_right = sum(t.size for t in topics if fits(t, truth))
    assert named_right >= 0.8 * count, [(t.name, t.size, fits(t, truth)) for t in topics]
    assert demo_engine.topics(words=DEMO_WORDS) is topics  # kept until the index changes
    assert [t.name for t in demo_engine.topics()] == [t.name for t in topics]  # its index's default words
    twice = demo_engine.topics(words=DEMO_WORDS + DEMO_WORDS)  # a word given twice names one topic at most
    assert len({t.name for t in twice}) == len(twice) and not any(t.name.endswith(")") for t in twice)


def test_a_topics_photos_come_nearest_its_centre_first_in_the_folder_and_dates_asked(demo_engine, sample_library):
    topic = demo_engine.topics(words=DEMO_WORDS)[0]
    photos = demo_engine.topic_photos(topic.name, words=DEMO_WORDS)
    assert [p.path for p in photos] == list(topic.paths) and all(p.strong for p in photos)
    assert [p.score for p in photos] == sorted((p.score for p in photos), reverse=True)
    assert len(demo_engine.topic_photos(topic.name, limit=3, words=DEMO_WORDS)) == 3
    folder = str(sample_library / "2019")
    inside = demo_engine.topic_photos(topic.name, where=SearchFilter(folder=folder, date_from="2019-03"),
                                      words=DEMO_WORDS)
    assert inside and all(p.path.startswith(folder + "/") for p in inside)
    assert all(p.date_taken is None or p.date_taken[:10] >= "2019-03-01" for p in inside)
    with pytest.raises(InvalidQuery, match="no topic is called 'a dog'"):
        demo_engine.topic_photos("a dog", words=DEMO_WORDS)


def test_the_command_line_lists_the_topics_and_one_topics_photos(demo_engine, capsys, tmp_path):
    import json

    import cli.search

    words = tmp_path / "words.txt"
    words.write_text("# the demo model's words\n" + "\n".join(DEMO_WORDS) + "\n")
    index = str(demo_engine.settings.index_dir)
    topics = demo_engine.topics(words=DEMO_WORDS)
    assert cli.search.main(["topics", "--index", index, "--words", str(words)]) == 0
    out = capsys.readouterr()
    assert out.out == "".join(f"{t.size}\t{t.name}\t{t.paths[0]}\n" for t in topics)
    assert f"{len(topics)} topics of {demo_engine.info()['count']} photos" in out.err
    assert cli.search.main(["topics", "--index", index, "--words", str(words), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [t.to_dict() for t in topics]
    assert cli.search.main(["topics", "--index", index, "--words", str(words), "--show", topics[1].name,
                            "--json"]) == 0
    assert [p["path"] for p in json.loads(capsys.readouterr().out)] == list(topics[1].paths)
    assert cli.search.main(["topics", "--index", index, "--words", str(words), "--show", "a dog"]) == 2
    assert "no topic is called 'a dog'" in capsys.readouterr().err
    assert cli.search.main(["topics", "--index", index, "--words", str(tmp_path / "none.txt")]) == 2
    assert "error: argument --words: cannot read " in capsys.readouterr().err


@pytest.fixture(scope="module")
def served(demo_engine, gradio_temp):
    from tests.integration.test_rest_mcp import Served

    server = Served.uploading_to(gradio_temp, demo_engine.settings)
    yield server
    server.close()


@pytest.mark.usefixtures("same_gradio_temp")
def test_scripts_and_assistants_read_the_topics_and_a_topics_photos(served, demo_engine):
    import ast
    import asyncio

    import httpx
    from gradio_client import Client

    from tests.integration.test_rest_mcp import _mcp_session

    topics = demo_engine.topics()  # the default vocabulary, as the server names them
    with httpx.Client(base_url=served.url, timeout=60) as http:
        listed = http.get("api/topics").json()["topics"]
        assert [(t["name"], t["size"], t["words"]) for t in listed] == [(t.name, t.size, list(t.words)) for t in topics]
        example = listed[0]["examples"][0]
        assert example["file"] == topics[0].paths[0]
        assert http.get(example["thumbnail"]).headers["content-type"] == "image/jpeg"
        photos = http.get("api/topics", params={"name": topics[1].name, "k": 5}).json()
        assert [r["file"] for r in photos["results"]] == list(topics[1].paths[:5])
        unknown = http.get("api/topics", params={"name": "a unicorn"})
        assert unknown.status_code == 400 and "no topic is called 'a unicorn'" in unknown.json()["error"]
    client = Client(served.url, verbose=False)
    try:
        assert [t["name"] for t in client.predict(api_name="/topics")] == [t.name for t in topics]
        found = client.predict(topics[0].name, 3, api_name="/topic_photos")
        assert [r["file"] for r in found] == list(topics[0].paths[:3])
    finally:
        client.close()

    async def work(session):
        tools = {tool.name for tool in (await session.list_tools()).tools}
        listed = await session.call_tool("library_topics", {})
        photos = await session.call_tool("photos_of_topic", {"name": topics[2].name, "k": 2})
        return tools, listed, photos

    tools, listed, photos = asyncio.run(_mcp_session(served.url, work=work))
    assert {"library_topics", "photos_of_topic"} <= tools and not listed.isError and not photos.isError
    assert [t["name"] for t in ast.literal_eval(listed.content[0].text)] == [t.name for t in topics]
    assert [r["file"] for r in ast.literal_eval(photos.content[0].text)] == list(topics[2].paths[:2])


def test_the_pages_covers_are_made_again_after_a_click_once_the_index_changed(tmp_path):
    import random

    from clipsearch import ModelSpec, SearchEngine, Settings
    from clipsearch.demo import Scene, SceneObject, render_scene
    from webui.handlers import Handlers
    from webui.page import Page
    from webui.topics_view import TopicsView

    library, rng = tmp_path / "library", random.Random(4)
    library.mkdir()
    for i in range(24):
        thing = SceneObject(("red", "blue")[i % 2], ("circle", "square")[i % 2])
        render_scene(Scene((thing,), "white"), 160, rng).save(library / f"a{i}.jpg")
    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache", model=ModelSpec(name="demo"))
    engine = SearchEngine.for_writing(settings)
    try:
        engine.index_folder(library)
        view = TopicsView(Page(Handlers(engine, settings)))
        items, shown, note = view.covers()
        assert [name for name, _, _ in shown] == [t.name for t in engine.topics()] and len(items) == len(shown)
        assert view.refresh(shown) == (gr.skip(), gr.skip(), gr.skip())  # nothing changed: left as they are
        for i in range(12):
            render_scene(Scene((SceneObject("yellow", "star"),), "black"), 160, rng).save(library / f"b{i}.jpg")
        engine.index_folder(library)  # a re-index: more photos, other topics
        items, again, note = view.refresh(shown)
        assert again == [[t.name, t.size, t.paths[0]] for t in engine.topics()] and again != shown
        assert sum(size for _, size, _ in again) == 36 and "36 photos" in note
    finally:
        engine.close()
