"""XML bodies give the application attribute values and texts, one by one."""

from __future__ import annotations

from apishield.checks.xml_values import looks_like_xml, xml_values


def test_attribute_values_texts_and_cdata_come_out_decoded() -> None:
    doc = (
        '<?xml version="1.0"?><order id="7&apos; OR 1=1--" note=\'plain\'>'
        "<item>a &lt;b&gt;</item><raw><![CDATA[<x>&lt;]]></raw></order>"
    )
    values = list(xml_values(doc, 100))
    assert "7' OR 1=1--" in values
    assert "plain" in values
    assert "a <b>" in values
    assert "<x>&lt;" in values  # CDATA is verbatim


def test_blank_texts_are_left_out_and_the_limit_holds() -> None:
    doc = "<a>\n  <b x='1'/>\n  <b x='2'/>\n</a>"
    assert list(xml_values(doc, 100)) == ["1", "2"]
    assert list(xml_values("<a " + " ".join(f"k{i}='{i}'" for i in range(50)) + "/>", 5)) == [
        "0",
        "1",
        "2",
        "3",
        "4",
    ]


def test_xml_is_recognised_by_type_or_by_its_opening() -> None:
    assert looks_like_xml("<x/>", "application/soap+xml; charset=utf-8")
    assert looks_like_xml('  <?xml version="1.0"?><x/>', "text/plain")
    assert looks_like_xml("<x/>", "")
    assert not looks_like_xml("a=<b>", "application/x-www-form-urlencoded")
