import pytest

from benchmarks import scoring


def row(group, label, split="holdout", family="crs", **flags):
    return scoring.Scored(group, family, label, split, flags)


def test_rate_skips_records_a_detector_did_not_see_and_filters_the_split():
    rows = [
        row(("s", "sqli", "PL1"), "attack", "tune", apishield=True),
        row(("s", "sqli", "PL1"), "attack", "holdout", apishield=False),
        row(("s", "sqli", "PL1"), "attack", "holdout", apishield=None),
    ]
    assert scoring.rate(rows, "apishield") == scoring.Rate(1, 2)
    assert scoring.rate(rows, "apishield", "holdout") == scoring.Rate(0, 1)
    assert scoring.Rate(0, 0).share is None


def test_precision_and_f1():
    assert scoring.precision(scoring.Rate(9, 10), scoring.Rate(1, 100)) == pytest.approx(0.9)
    assert scoring.precision(scoring.Rate(0, 10), scoring.Rate(0, 100)) is None
    assert scoring.precision(scoring.Rate(3, 10), scoring.Rate(0, 0)) is None
    assert scoring.f1(0.9, 0.9) == pytest.approx(0.9)
    assert scoring.f1(0.0, 0.0) == 0.0
    assert scoring.f1(None, 0.5) is None


def test_attack_precision_is_charged_the_same_familys_benign_set():
    attack = ("crs_sqli", "sqli", "PL1")
    rows = [
        *(row(attack, "attack", apishield=True) for _ in range(8)),
        *(row(attack, "attack", apishield=False) for _ in range(2)),
        *(row(("crs_benign", "benign", ""), "benign", apishield=i < 2) for i in range(100)),
        row(("blns_benign", "benign", ""), "benign", family="blns", apishield=True),
    ]
    summary = {e["set"]: e for e in scoring.summarise(rows, [scoring.Column("a", "apishield")])}
    fig = summary["crs_sqli"]["figures"]["a"]
    assert fig["share"] == pytest.approx(0.8)
    assert fig["precision"] == pytest.approx(0.8)  # 8 hits, 2 crs benign flagged, blns not counted
    assert fig["f1"] == pytest.approx(0.8)
    assert summary["crs_benign"]["figures"]["a"]["share"] == pytest.approx(0.02)
    assert "f1" not in summary["crs_benign"]["figures"]["a"]


def test_libinjection_gets_no_f1_outside_the_classes_it_covers():
    rows = [
        row(("crs_rce", "rce", "PL1"), "attack", libinjection=True),
        row(("crs_benign", "benign", ""), "benign", libinjection=False),
    ]
    columns = [scoring.Column("li", "libinjection")]
    fig = scoring.summarise(rows, columns)[0]["figures"]["li"]
    assert fig["share"] == 1.0
    assert "f1" not in fig


def test_goals_are_judged_on_holdout_only():
    group = ("crs_sqli", "sqli", "PL1")
    rows = [
        *(row(group, "attack", "tune", apishield=False, crs_pl1=False) for _ in range(50)),
        *(row(group, "attack", "holdout", apishield=True, crs_pl1=i < 5) for i in range(40)),
        *(
            row(("crs_benign", "benign", ""), "benign", apishield=False, crs_pl1=False)
            for _ in range(200)
        ),
    ]
    goals = {e["set"]: e["goal"] for e in scoring.summarise(rows)}
    assert "recall>=97% ok" in goals["crs_sqli"]
    assert "F1>CRS1 ok" in goals["crs_sqli"]
    assert goals["crs_benign"] == "FP<=0.5% ok"


def test_missed_goals_say_miss():
    group = ("libinjection_xss", "xss", "")
    rows = [
        *(
            row(group, "attack", family="libinjection", apishield=i < 90, libinjection=True)
            for i in range(100)
        ),
        *(
            row(
                ("libinjection_benign", "benign", ""),
                "benign",
                family="libinjection",
                apishield=i < 2,
                libinjection=False,
            )
            for i in range(100)
        ),
    ]
    goals = {e["set"]: e["goal"] for e in scoring.summarise(rows)}
    assert "recall>=97% MISS" in goals["libinjection_xss"]
    assert "F1>libinj MISS" in goals["libinjection_xss"]
    assert goals["libinjection_benign"] == "FP<=0.5% MISS"


def test_agreement_counts_flagged_attacks_by_assigned_class():
    group = ("crs_sqli", "sqli", "PL1")
    rows = [
        scoring.Scored(group, "crs", "attack", "tune", {"apishield": True}, ("sqli",)),
        scoring.Scored(group, "crs", "attack", "tune", {"apishield": True}, ("rce",)),
        scoring.Scored(group, "crs", "attack", "tune", {"apishield": False}, ()),
    ]
    agreed = scoring.agreement(rows)
    assert agreed["sqli"]["flagged"] == 2
    assert agreed["sqli"]["agree"] == 1
    assert "sqli" in scoring.agreement_table(agreed)


def test_other_class_agrees_by_subclass():
    group = ("crs_other", "other", "PL1")
    flags = {"apishield": True}
    rows = [
        scoring.Scored(group, "crs", "attack", "tune", flags, ("java",), "java_attack"),
        scoring.Scored(group, "crs", "attack", "tune", flags, ("sqli",), "java_attack"),
        scoring.Scored(group, "crs", "attack", "tune", flags, ("ssti",), "ssti"),
    ]
    agreed = scoring.agreement(rows)
    assert (agreed["other/java_attack"]["flagged"], agreed["other/java_attack"]["agree"]) == (2, 1)
    assert agreed["other/ssti"]["agree"] == 1


def test_render_aligns_columns():
    text = scoring.render(["set", "n"], [["a", "1"], ["long", "100"]], "lr")
    lines = text.splitlines()
    assert lines[1] == "a       1"
    assert lines[2] == "long  100"
    assert len({len(line) for line in lines}) == 1


def test_tables_show_each_label_where_it_belongs():
    rows = [
        row(("crs_sqli", "sqli", "PL1"), "attack", apishield=True),
        row(("crs_benign", "benign", ""), "benign", apishield=False),
        row(("crs_ambiguous", "sqli", ""), "ambiguous", apishield=True),
    ]
    columns = [scoring.Column("a", "apishield")]
    summary = scoring.summarise(rows, columns)
    detection = scoring.detection_table(summary, columns)
    assert "crs_sqli" in detection and "crs_benign" in detection
    assert "crs_ambiguous" not in detection
    assert "0.00% (0)" in detection
    assert "crs_ambiguous" in scoring.ambiguous_table(summary, columns)
    assert "crs_benign" not in scoring.f1_table(summary, columns)
