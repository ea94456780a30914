"""The search space: read from the params models, narrowed by --space specs, turned into a config."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import TypeAdapter

import strategies  # noqa: F401  (registers every strategy)
from daybreak.core.search_space import (
    SpaceError,
    apply_patch,
    build_space,
    config_patch,
    model_dimensions,
    parse_spec,
)
from daybreak.ops.config_file import parse_config
from strategies import registry

MA = registry.params_model("MA_Crossover")


def test_every_registered_strategy_has_a_default_space_inside_its_validation_bounds():
    for name in registry.names():
        model = registry.params_model(name)
        dims = model_dimensions(model)
        assert dims, name
        assert "params.timeframe" not in {d.key for d in dims}
        for d in dims:
            if d.kind in ("int", "float"):
                field = model.model_fields[d.key.split(".", 1)[1]]
                check = TypeAdapter(Annotated[field.annotation, *field.metadata])
                for value in (d.low, d.high):  # each end is a valid value of the field
                    assert check.validate_python(value) == value, (name, d.key, value)


def test_bounds_come_from_the_model_and_its_search_hint():
    dims = {d.key: d for d in model_dimensions(MA)}
    assert (dims["params.short_period"].low, dims["params.short_period"].high) == (5, 200)
    assert dims["params.short_period"].kind == "int" and not dims["params.short_period"].log  # 200/5 < 100
    # no hint: a float with an exclusive bound moves inwards, a wide range is searched on a log scale
    d = parse_spec("risk.trailing_decay_rate", MA)[0]
    assert d.low == pytest.approx(1000 * 1e-3) and d.high == 1000 and d.log


def test_specs_narrow_pin_or_list_values():
    space = {
        d.key: d
        for d in build_space(
            MA,
            ["short_period=5:100:5", "long_period=200", "risk.time_stop_seconds=off,150,600", "risk.stop_loss_ratio"],
        )
    }
    assert space["params.short_period"].grid() == list(range(5, 101, 5))
    assert space["params.long_period"].kind == "fixed" and space["params.long_period"].choices == (200,)
    assert space["risk.time_stop_seconds"].choices == (None, 150.0, 600.0)
    assert space["risk.stop_loss_ratio"].low == 0.001


@pytest.mark.parametrize(
    "spec,message",
    [
        ("nope=1:2", "not a params field"),
        ("risk.nope", "not a risk key"),
        ("short_period=0:10", "below the field's bound"),
        ("short_period=10:5", "LOW must be below HIGH"),
        ("short_period=a:5", "not a number"),
        ("short_period=1.5:5", "not an integer"),
        ("timeframe=1m,15m", "not one of"),
        ("short_period=5:100:0", "step must be positive"),
        ("risk.time_stop_seconds=0:10", "below the field's bound"),
    ],
)
def test_bad_specs_name_the_spec(spec, message):
    with pytest.raises(SpaceError, match=message):
        build_space(MA, [spec])


def test_a_list_field_is_one_yes_no_dimension_per_member_and_the_patch_rebuilds_the_list():
    model = registry.params_model("Confluence")
    keys = [d.key for d in model_dimensions(model)]
    assert "params.conditions[squeeze]" in keys and "params.conditions[momentum]" in keys
    with pytest.raises(SpaceError, match="by member"):
        parse_spec("conditions=squeeze", model)
    patch = config_patch(
        "Confluence",
        {},
        {
            "params.conditions[squeeze]": True,
            "params.conditions[ema_cross]": False,
            "params.conditions[volume_surge]": True,
            "params.min_count": 2,
        },
    )
    assert patch["params"]["Confluence"]["conditions"] == ["squeeze", "volume_surge"]


def test_a_patch_applies_to_the_searched_strategy_only_and_validates():
    raw = {
        "algos": {"MA_Crossover": True, "RSI_Reversion": True},
        "params": {"MA_Crossover": {"timeframe": "1m"}},
        "risk": {"stop_loss_ratio": 0.01, "time_stop_seconds": 150},
        "risk_overrides": {"Momentum_Chase": {"take_profit_ratio": 0.06}},
    }
    patch = config_patch(
        "MA_Crossover", raw, {"params.short_period": 20, "params.long_period": 300, "risk.time_stop_seconds": None}
    )
    out = parse_config(apply_patch(raw, patch))
    assert out.params["MA_Crossover"] == {"timeframe": "1m", "short_period": 20, "long_period": 300}
    assert out.risk_for("MA_Crossover").time_stop_seconds is None  # null in the override turns the rule off
    assert out.risk_for("RSI_Reversion").time_stop_seconds == 150
    assert out.risk_for("Momentum_Chase").take_profit_ratio == 0.06
    assert raw["params"]["MA_Crossover"] == {"timeframe": "1m"}  # the input is not modified
