"""Moving both prices a liquidation looks at, and mirroring the chain in the exact model."""

from vperp import actions, model


def set_index(publisher, price: int) -> None:
    """The world price moves to `price` (WAD) and the feed publishes it at once: the move must
    reach the feed's deviation threshold (0.5 % locally), as every move here does."""
    assert publisher.set_price(price) is not None, "a move below the deviation publishes nothing"


def push_mark(house, vamm, pusher, market_id: int, target: int, leverage: int = 6) -> None:
    """`pusher` trades the vAMM's mark price to about `target` (WAD)."""
    actions.move_mark(house, vamm, pusher, market_id, target, leverage)


def crash(house, vamm, publisher, pusher, market_id: int, price: int) -> None:
    """Both prices a liquidation checks move to about `price`: spot first (the world price moves
    by more than the feed's deviation threshold, so the feed publishes it at once), then the
    vAMM's mark follows through `pusher`'s trades."""
    set_index(publisher, price)
    push_mark(house, vamm, pusher, market_id, price)


def market_model(house, vamm, market_id: int, traders) -> model.MarketModel:
    """The model of a market as the chain holds it now (positions without pending funding)."""
    m = model.MarketModel.from_chain(house.market(market_id), vamm)
    for trader in traders:
        p = house.position(trader, market_id)
        assert p["pending_funding"] == 0, "the model starts from settled positions"
        m.positions[str(trader)] = model.PositionModel(
            size=p["size"],
            open_notional=p["open_notional"],
            margin=p["margin"],
            last_index=m.side_index(p["size"]),
        )
    return m
