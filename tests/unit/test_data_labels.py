"""The label rule: codes -> class through cfg.classes, priority between classes."""

from __future__ import annotations

import pytest

from hil.config import ClassesCfg
from hil.data.labels import DxError, LabelRule, parse_dx


def test_parse_dx_variants():
    assert parse_dx("164889003,59118001,164934002") == [164889003, 59118001, 164934002]
    assert parse_dx(" 426177001 , 164934002 ,") == [426177001, 164934002]
    assert parse_dx("426177001;164934002") == [426177001, 164934002]
    with pytest.raises(DxError):
        parse_dx("426177001,SB")


def test_seed_rule(seed_config):
    rule = LabelRule.from_cfg(seed_config.classes)
    name = lambda codes: None if rule.label(codes) is None else rule.names[rule.label(codes)]  # noqa: E731
    assert name([426783006]) == "SR"
    assert name([426627000]) == "SB"  # the second SB code
    assert name([164890007, 429622005]) == "AFIB"  # AFL merged into AFIB, other code ignored
    assert name([74390002]) == "GSVT"
    # several classes: the priority list decides, not the order in the header
    assert name([426783006, 164889003]) == "AFIB"
    assert name([426783006, 427084000]) == "GSVT"
    assert name([426177001, 426783006]) == "SB"
    assert name([426177001, 427084000, 164890007]) == "AFIB"
    assert name([59118001, 164934002]) is None
    assert name([]) is None


def test_rule_follows_any_class_map():
    cfg = ClassesCfg(names=["NORMAL", "FAST", "IRREGULAR"],
                     codes={"NORMAL": [426783006, 426177001], "FAST": [427084000], "IRREGULAR": [164889003]})
    rule = LabelRule.from_cfg(cfg)  # no priority: order of names
    assert rule.label([426177001]) == 0
    assert rule.label([164889003, 427084000]) == 1
    cfg2 = cfg.model_copy(update={"priority": ["IRREGULAR", "FAST", "NORMAL"]})
    assert LabelRule.from_cfg(cfg2).label([164889003, 427084000]) == 2
    assert rule.label([426761007]) is None  # SVT is not in this map
