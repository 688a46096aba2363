"""Whatever a client searches for, `GET /tasks?q=` answers 200 or 400, never 500: the text goes through PostgreSQL's
websearch_to_tsquery, whose parser has limits of its own (33 negations in a row overflow its stack)."""

from collections.abc import AsyncIterator
from typing import Any

import hypothesis
import msgspec
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient

from api.app import create_app
from infrastructure.settings import Settings
from tests.e2e.helpers import Client, assert_problem, bearer, create_task, register

Session = dict[str, Any]

# What the websearch syntax and the tsquery parser give meaning to, and words between them.
SYNTAX = ["-", "- ", '"', " or ", " OR ", "!", "&", "|", "(", ")", "<", "<->", ":", ":*", "\\", "'", " ", "a", "pie"]
# Runs of one token, as a parser's limits are found by repeating something (the tsquery parser's stack holds 32).
TIMES = st.sampled_from([1, 2, 3, 16, 31, 32, 33, 34, 50])
runs = st.builds(lambda token, times: token * times, st.sampled_from(SYNTAX), TIMES)
negations = st.builds(lambda times, between: ("-" + between) * times, TIMES, st.sampled_from(["", " ", "(", "!"]))
syntax_heavy = st.lists(negations | runs, max_size=6).map(lambda pieces: "".join(pieces)[:200])
any_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=200)


@pytest.fixture
async def searcher(settings: Settings) -> AsyncIterator[tuple[Client, Session]]:
    """A client and a session with room for every example (and its shrinking) under the API's rate limit."""
    unlimited = msgspec.structs.replace(settings, api_rate_limit="1000000/minute")
    async with AsyncTestClient(app=create_app(unlimited)) as client:
        session = await register(client, "searcher@example.com")
        await create_task(client, session, title="apple pie", description="or a tart")
        yield client, session


@hypothesis.settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=syntax_heavy | any_text)
async def test_any_search_text_is_answered_200_or_400(searcher: tuple[Client, Session], q: str) -> None:
    client, session = searcher
    response = await client.get("/tasks", params={"q": q}, headers=bearer(session))
    assert response.status_code in (200, 400), (q, response.text)


async def test_a_run_of_negations_is_a_400_about_q(client: Client, alice: Session) -> None:
    for q in ("-" * 40 + "a", "- " * 40 + "a", "-(" * 40 + "a", "a " + "-" * 100 + "b"):
        problem = assert_problem(await client.get("/tasks", params={"q": q}, headers=bearer(alice)), 400)
        assert [error["field"] for error in problem["errors"]] == ["q"], q


async def test_negation_still_excludes_words(client: Client, alice: Session) -> None:
    await create_task(client, alice, title="apple pie")
    tart = await create_task(client, alice, title="apple tart")
    found = await client.get("/tasks", params={"q": "apple -pie"}, headers=bearer(alice))
    assert [task["id"] for task in found.json()["data"]] == [tart["id"]]
