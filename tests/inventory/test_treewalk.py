from __future__ import annotations

from apishield.inventory import treewalk
from apishield.inventory.treewalk import Walk


def _walk(tree: object) -> Walk:
    walk = Walk(None)
    walk.root(tree)
    walk.finish()
    return walk


CUSTOMER = {
    "id": "cus_1",
    "first_name": "Alice",
    "last_name": "Smith",
    "email": "alice@example.com",
    "address": {"street": "742 Evergreen Terrace", "city": "Springfield", "postcode": "97403"},
}


def test_a_person_with_a_nested_address_is_one_record() -> None:
    walk = _walk(CUSTOMER)
    assert walk.records == 1
    assert walk.classes == {"person_name": 2, "email": 1, "postal_address": 1}
    assert walk.fields["address.street"] == "postal_address"
    assert walk.fields["address.city"] == "postal_address"


def test_each_person_in_a_list_is_a_record() -> None:
    walk = _walk({"data": [dict(CUSTOMER, id=f"cus_{i}") for i in range(50)]})
    assert walk.records == 50
    assert walk.classes["email"] == 50
    assert walk.fields["data[].email"] == "email"


def test_empty_list() -> None:
    assert _walk({"data": []}).records == 0
    assert _walk([]).records == 0


def test_contact_points_belong_to_the_person_around_them() -> None:
    walk = _walk(
        {
            "name": "Alice Smith",
            "contact": {"email": "alice@example.com", "phone": "+14155552671"},
            "phones": [{"type": "home", "number": "+14155552672"}],
        }
    )
    assert walk.records == 1
    assert walk.classes["phone"] == 2


def test_another_person_nested_in_a_person_is_a_record() -> None:
    walk = _walk(
        {
            "first_name": "Alice",
            "emergency_contact": {"full_name": "Bob Smith", "phone": "+14155552671"},
            "authorized_users": [{"first_name": "Carol"}, {"first_name": "Dan"}],
        }
    )
    assert walk.records == 4


def test_wrappers_do_not_own_people() -> None:
    walk = _walk({"meta": {"page": 1}, "result": {"customer": {"email": "a@example.com"}}})
    assert walk.records == 1


def test_bare_name_on_a_product_is_not_a_person() -> None:
    walk = _walk({"id": "p_1", "name": "Widget Pro", "price": 10, "sku": "WID-1"})
    assert walk.classes == {}
    assert walk.records == 0


def test_bare_name_beside_personal_fields_is_a_person() -> None:
    walk = _walk({"name": "Alice Smith", "email": "alice@example.com"})
    assert walk.classes["person_name"] == 1
    assert walk.fields["name"] == "person_name"
    assert _walk({"name": "Alice Smith", "address": {"street": "1 Main St"}}).records == 1


def test_bare_name_under_a_people_key_is_a_person() -> None:
    walk = _walk({"customers": [{"id": 1, "name": "Alice Smith"}, {"id": 2, "name": "Bob"}]})
    assert walk.records == 2
    assert walk.fields["customers[].name"] == "person_name"


def test_name_parts_under_name() -> None:
    walk = _walk({"name": {"first": "Alice", "last": "Smith"}, "id": 3})
    assert walk.classes == {"person_name": 2}
    assert walk.records == 1


def test_generic_keys_take_the_meaning_of_their_parent() -> None:
    walk = _walk({"card": {"number": "4111111111111111", "brand": "visa"}})
    assert walk.fields == {"card.number": "payment_card"}
    walk = _walk({"account": {"number": "100234567", "type": "postpaid"}})
    assert walk.fields == {"account.number": "account_number"}
    assert _walk({"order": {"number": "4111111111111111"}}).classes == {}


def test_account_number_alone_is_not_a_person() -> None:
    assert _walk({"account_number": "12345678"}).records == 0
    walk = _walk({"account_number": "12345678", "iban": "GB82WEST12345698765432"})
    assert walk.records == 1


def test_flat_address_counts_once() -> None:
    walk = _walk(
        {"address_line1": "1 Main St", "address_line2": "Apt 4", "city": "Boston", "zip": 2108}
    )
    assert walk.classes == {"postal_address": 1}
    assert set(walk.fields) == {"address_line1", "address_line2", "city", "zip"}


def test_postcode_and_city_make_an_address() -> None:
    assert _walk({"city": "London", "postcode": "SW1A 1AA"}).classes == {"postal_address": 1}
    assert _walk({"city": "London"}).classes == {}
    assert _walk({"line1": "Unit 5"}).classes == {}


def test_free_text_finds_only_name_free_classes() -> None:
    walk = _walk(
        {
            "description": "Lives at 10 Downing Street, London SW1A 2AA, born 1970-01-01, "
            "name John Smith, write to john@example.com",
        }
    )
    assert walk.classes == {"email": 1}
    assert walk.fields == {"description": "email"}
    assert walk.records == 0


def test_lists_of_scalars() -> None:
    walk = _walk({"emails": ["a@example.com", "b@example.com"], "tags": ["vip"]})
    assert walk.classes == {"email": 2}
    assert walk.fields == {"emails[]": "email"}
    assert walk.records == 1
    assert _walk(["a@example.com", [["b@example.com"]]]).classes == {"email": 2}


def test_root_scalars() -> None:
    assert _walk("alice@example.com").fields == {"": "email"}
    assert _walk(4111111111111111).classes == {}
    assert _walk(None).classes == {}


def test_depth_cap() -> None:
    tree: object = {"email": "deep@example.com"}
    for _ in range(treewalk.MAX_DEPTH + 5):
        tree = {"a": tree}
    walk = _walk(tree)
    assert walk.truncated
    assert walk.classes == {}


def test_node_cap() -> None:
    walk = _walk([{"email": "a@example.com"}] * (treewalk.MAX_NODES // 2 + 10))
    assert walk.truncated
    assert 0 < walk.classes["email"] < treewalk.MAX_NODES // 2 + 10


def test_field_cap() -> None:
    walk = _walk({f"email_{i}": f"user{i}@example.com" for i in range(treewalk.MAX_FIELDS + 50)})
    assert len(walk.fields) == treewalk.MAX_FIELDS
    assert walk.classes["email"] == treewalk.MAX_FIELDS + 50


def test_a_map_keyed_by_phone_numbers_holds_phone_numbers_shown_by_their_kind() -> None:
    walk = _walk(
        {
            "+447911123456": {"first_name": "Alice", "email": "alice@example.org"},
            "+14155552671": {"first_name": "Bob", "email": "bob@example.com"},
        }
    )
    assert walk.fields == {
        "{phone}": "phone",
        "{phone}.first_name": "person_name",
        "{phone}.email": "email",
    }
    assert walk.classes == {"phone": 2, "person_name": 2, "email": 2}
    assert walk.records == 2  # the people in it; the map itself is nobody


def test_value_keys_deep_in_a_body_and_under_lists_are_shown_by_kind() -> None:
    walk = _walk(
        {
            "data": [{"carol.white@example.net": {"ssn": "536-22-1846"}}],
            "sessions": {"123e4567-e89b-12d3-a456-426614174000": {"note": "x" * 30 + " y"}},
        }
    )
    assert walk.fields == {"data[].{email}": "email", "data[].{email}.ssn": "ssn"}
    assert walk.classes == {"email": 1, "ssn": 1}
    assert not any("@" in path or "4174000" in path for path in walk.fields)


def test_ordinary_keys_with_digits_keep_their_names() -> None:
    walk = _walk({"address": {"line1": "742 Evergreen Terrace", "city": "Springfield"}})
    assert walk.fields == {"address.line1": "postal_address", "address.city": "postal_address"}
