"""Search (api.md §6): the query language, table-driven, and the search over moto."""

from __future__ import annotations

import json

import pytest
from customers_core.auth import Principal
from customers_core.errors import InvalidRequest
from customers_core.logic import search
from customers_core.logic.customers import create_customer, delete_customer, list_customers, update_customer
from customers_core.models.customer import CustomerParams
from customers_core.models.listing import ListCustomersParams
from customers_core.models.search import SearchParams
from customers_core.search.query import QueryError, parse

WHO = Principal("acct_01JSEARCH000000000000000000", False, frozenset({"customers:read"}), "key_x")

VALID = [
    ('email:"ada@example.com"', [("email", ":", "ada@example.com", False)], "AND"),
    ('name~"jan"', [("name", "~", "jan", False)], "AND"),
    ('name:"Ada Lovelace" status:"active"', [("name", ":", "Ada Lovelace", False), ("status", ":", "active", False)],
     "AND"),
    ('name:"a" AND tag:"vip"', [("name", ":", "a", False), ("tag", ":", "vip", False)], "AND"),
    ('tag:"vip" OR tag:"gold"', [("tag", ":", "vip", False), ("tag", ":", "gold", False)], "OR"),
    ('status:"active" -tag:"churned"', [("status", ":", "active", False), ("tag", ":", "churned", True)], "AND"),
    ("metadata['plan']:'pro'", [("metadata", ":", "pro", False)], "AND"),
    ('metadata["a b"]:"x"', [("metadata", ":", "x", False)], "AND"),
    ("created>1700000000", [("created", ">", "1700000000", False)], "AND"),
    ('created>=1 created<=2 created<3 created=4',
     [("created", op, v, False) for op, v in ((">=", "1"), ("<=", "2"), ("<", "3"), ("=", "4"))], "AND"),
    (r'name:"O\"Brien"', [("name", ":", 'O"Brien', False)], "AND"),
    (r"name:'back\\slash'", [("name", ":", "back\\slash", False)], "AND"),
    ('  phone:"+1 876 555"  ', [("phone", ":", "+1 876 555", False)], "AND"),
    (" ".join(f'tag:"t{i}"' for i in range(10)), [("tag", ":", f"t{i}", False) for i in range(10)], "AND"),
]

INVALID = [
    ("", 0), ('colour:"red"', 0), ('name"ada"', 4), ("name:ada", 5), ('name:"ada', 5), ('name~"a"', 5),
    ('status~"ac"', 6), ('created:"1"', 7), ("created>abc", 8), ('name>"a"', 4),
    ('tag:"a" AND tag:"b" OR tag:"c"', 20), ('-tag:"a"', 0), ('tag:"a"tag:"b"', 7),
    ("metadata.plan:'pro'", 8), ("metadata[plan]:'pro'", 9), ("metadata['plan':'pro'", 15),
    (r'name:"a\b"', 7), ('tag:"a" AND', 8), ('name:""', 5),
    (" ".join(f'tag:"t{i}"' for i in range(11)), 90), ('phone~"+4"', 6), ('external_id~"us"', 11),
]


@pytest.mark.parametrize(("text", "clauses", "join"), VALID)
def test_valid_queries_parse(text, clauses, join):
    query = parse(text)
    assert [(c.field, c.op, c.value, c.negated) for c in query.clauses] == clauses and query.join == join


def test_metadata_keys_are_read():
    assert parse("metadata['plan']:'pro'").clauses[0].key == "plan"


@pytest.mark.parametrize(("text", "position"), INVALID)
def test_invalid_queries_say_where(text, position):
    with pytest.raises(QueryError) as err:
        parse(text)
    assert err.value.position == position, str(err.value)
    with pytest.raises(InvalidRequest) as api_err:
        search.parse_query(text)
    assert api_err.value.param == "query" and f"position {position}" in api_err.value.message


# --- the search itself --------------------------------------------------------------------------
@pytest.fixture
def people(table):
    made = {}
    for name, email, extra in (
        ("Ada Lovelace", "ada@analytical.org", {"tags": ["vip"], "metadata": {"plan": "Pro"}, "phone": "+44 20 7946"}),
        ("Jane Doe", "jane.doe@example.com", {"tags": ["vip", "churned"], "status": "inactive"}),
        ("Janet Jackson", "jj@music.com", {"external_id": "User-7"}),
        ("Grace Hopper", "grace@navy.mil", {"metadata": {"plan": "free"}}),
    ):
        made[name] = create_customer(table, WHO, CustomerParams.model_validate({"name": name, "email": email,
                                                                                **extra}), {})
    return made


def _ids(table, text, **kwargs):
    return [c["name"] for c in search.search_customers(table, WHO, SearchParams(query=text, **kwargs))["data"]]


@pytest.mark.parametrize(("text", "names"), [
    ('name~"jan"', ["Janet Jackson", "Jane Doe"]),
    ('name~"JAN" -tag:"churned"', ["Janet Jackson"]),
    ('name:"jane"', ["Jane Doe"]),
    ('name:"ada lovelace"', ["Ada Lovelace"]),
    ('name:"lovelace ada"', []),
    ('email:"JANE.DOE@example.com"', ["Jane Doe"]),
    ('email~"exam"', ["Jane Doe"]),
    ('email~"ana"', ["Ada Lovelace"]),
    ('phone:"+442079 46"', ["Ada Lovelace"]),
    ('phone~"+44 20"', ["Ada Lovelace"]),
    ('phone~"+4420794"', ["Ada Lovelace"]),
    ('phone~"+45"', []),
    ('phone~"44"', []),  # the stored number starts with +, so its prefixes do too
    ('phone~"+44" tag:"vip"', ["Ada Lovelace"]),
    ('external_id:"user-7"', ["Janet Jackson"]),
    ('status:"inactive"', ["Jane Doe"]),
    ('tag:"VIP"', ["Jane Doe", "Ada Lovelace"]),
    ("metadata['plan']:'pro'", ["Ada Lovelace"]),
    ('tag:"vip" status:"active"', ["Ada Lovelace"]),
    ('name:"grace" OR email:"jj@music.com"', ["Grace Hopper", "Janet Jackson"]),
    ('name~"gr" OR name~"ad" OR -metadata[\'plan\']:"free"', ["Ada Lovelace"]),
    ("created>0", ["Grace Hopper", "Janet Jackson", "Jane Doe", "Ada Lovelace"]),
    ("created<0", []),
    ('name~"nobody"', []),
])
def test_search_finds_exactly_the_matches_newest_first(table, people, text, names):
    assert _ids(table, text) == names


def test_pages_and_total_count(table, people):
    first = search.search_customers(table, WHO, SearchParams(query="created>0", limit=3, expand=["total_count"]))
    assert len(first["data"]) == 3 and first["has_more"] and first["total_count"] == 4
    assert first["object"] == "search_result" and first["url"] == "/v1/customers/search"
    rest = search.search_customers(table, WHO, SearchParams(query="created>0", limit=3, page=first["next_page"]))
    assert [c["name"] for c in rest["data"]] == ["Ada Lovelace"] and not rest["has_more"] and rest["next_page"] is None
    with pytest.raises(InvalidRequest) as err:
        search.search_customers(table, WHO, SearchParams(query="created>0", page="garbage!"))
    assert err.value.param == "page"


def test_changes_show_in_the_very_next_search(table, people):
    jane = people["Jane Doe"]
    update_customer(table, WHO, jane["id"], CustomerParams(name="Mary Major"), {})
    assert _ids(table, 'name~"jan"') == ["Janet Jackson"]
    assert _ids(table, 'name:"mary major"') == ["Mary Major"]
    delete_customer(table, WHO, jane["id"], {})
    assert _ids(table, 'name:"mary"') == [] and "Mary Major" not in _ids(table, "created>0")
    other_mode = Principal(WHO.account_id, True, WHO.scopes, "k")
    assert search.search_customers(table, other_mode, SearchParams(query='name~"ada"'))["data"] == []


def test_list_search_is_the_same_as_the_equivalent_query(table, people):
    for text in ("jan", "ex", "jane doe", "gr"):
        listed = list_customers(table, WHO, ListCustomersParams(search=text, limit=100))["data"]
        joined = " ".join(text.split())
        queried = search.search_customers(table, WHO, SearchParams(
            query=f'name~"{joined}" OR email~"{joined}"', limit=100))["data"]
        assert [c["id"] for c in listed] == [c["id"] for c in queried], text
    combined = list_customers(table, WHO, ListCustomersParams(search="jan", status="inactive", include=["total_count"]))
    assert [c["name"] for c in combined["data"]] == ["Jane Doe"] and combined["total_count"] == 1


def test_many_token_changes_in_one_update_still_land(table):
    """50 metadata values replaced at once: more token writes than one transaction holds."""
    created = create_customer(table, WHO, CustomerParams(metadata={f"k{i}": f"old{i}" for i in range(50)}), {})
    update_customer(table, WHO, created["id"], CustomerParams(metadata={f"k{i}": f"new{i}" for i in range(50)}), {})
    assert [c["id"] for c in search.search_customers(table, WHO, SearchParams(
        query="metadata['k42']:'new42'"))["data"]] == [created["id"]]
    assert search.search_customers(table, WHO, SearchParams(query="metadata['k42']:'old42'"))["data"] == []


def test_search_handler_answers_400_with_the_position(make_api_event, lambda_context, account):
    from tests.conftest import load_function

    fn = load_function("search_customers")
    event = make_api_event("GET", "/v1/customers/search", context=account)
    event["rawQueryString"] = "query=name%3Aada"
    response = fn.lambda_handler(event, lambda_context)
    body = json.loads(response["body"])
    assert response["statusCode"] == 400 and body["error"]["param"] == "query"
    assert "position 5" in body["error"]["message"]
