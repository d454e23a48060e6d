# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title OracleAdapter
@notice Chainlink AggregatorV3 prices per market, validated on every read and normalised to 18
        decimals, with an O(1) cumulative index price (Σ price · seconds) and the number of
        seconds the index was valid, so that funding can use an exact TWAP over any interval and
        refuse to charge over an interval with an invalid index.
@dev A read is valid when: the feed call succeeds; answer > 0; updatedAt ≠ 0 and ≤ now;
     now − updatedAt ≤ the feed's heartbeat; answeredInRound ≥ roundId; answer within the feed's
     min/max bounds; and, when a sequencer-uptime feed is set, the sequencer is up and past its
     grace period. Only `latestRoundData` is used: the adapter never assumes roundId + 1 exists.
     Status codes (also the revert strings of `touch_valid`) are listed below.
     Between touches the accumulator carries the last valid observation, which counts as valid
     until its updatedAt + heartbeat; keepers `poke` to keep the index fresh.
     Owner (two-step) sets feeds and the sequencer feed; nothing to pause.
"""

from interfaces import IAggregatorV3
from interfaces import IOracleAdapter
from modules import packed
from snekmate.auth import ownable
from snekmate.auth import ownable_2step

implements: IOracleAdapter

initializes: ownable
initializes: ownable_2step[ownable := ownable]

exports: (
    ownable_2step.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
)

OK: constant(uint256) = 0
NO_FEED: constant(uint256) = 1
FEED_CALL_FAILED: constant(uint256) = 2
SEQUENCER_DOWN: constant(uint256) = 3
SEQUENCER_GRACE: constant(uint256) = 4
NON_POSITIVE: constant(uint256) = 5
INCOMPLETE_ROUND: constant(uint256) = 6
FUTURE_TIMESTAMP: constant(uint256) = 7
STALE: constant(uint256) = 8
OUT_OF_BOUNDS: constant(uint256) = 9

MAX_HEARTBEAT: constant(uint256) = 2 * 86400
MAX_GRACE_PERIOD: constant(uint256) = 86400
MASK40: constant(uint256) = 2**40 - 1
MASK128: constant(uint256) = 2**128 - 1
MASK160: constant(uint256) = 2**160 - 1


struct Feed:
    # aggregator (low 160 bits) | heartbeat (next 40) | decimals (next 8)
    config: uint256
    # min price (low 128) | max price (high 128), 18 decimals
    bounds: uint256
    # last touch timestamp (low 40) | Σ price · seconds (high 216)
    accumulator: uint256
    # last valid price (low 128) | valid until (next 40) | Σ valid seconds (next 64)
    observation: uint256


_feeds: HashMap[uint256, Feed]
sequencer: public(address)
grace_period: public(uint256)


@deploy
def __init__():
    ownable.__init__()
    ownable_2step.__init__()


# ---------------------------------------------------------------------------------------------
# reads


@external
@view
def price(market: uint256) -> (uint256, uint256):
    """
    @notice The market's current price, 18 decimals, and its status (0 = valid).
    """
    return self._read(market)


@external
@view
def cumulative(market: uint256) -> (uint256, uint256, uint256):
    """
    @notice (Σ index price · seconds, Σ valid seconds, now), accrued up to now from the last
            observation. TWAP over [t0, t1] = Δcumulative / Δt; valid iff Δvalid = Δt.
    """
    cum: uint256 = 0
    valid: uint256 = 0
    cum, valid = self._accrued(self._feeds[market])
    return cum, valid, block.timestamp


@external
def touch(market: uint256) -> (uint256, uint256, uint256, uint256):
    """
    @notice Read and validate the price, and record it in the accumulator.
    @return (price, status, Σ price · seconds, Σ valid seconds); price is the last valid
            observation when status ≠ 0.
    """
    return self._touch(market)


@external
def touch_valid(market: uint256) -> uint256:
    """
    @notice As `touch`, but reverts with the reason unless the price is valid.
    """
    price_: uint256 = 0
    status: uint256 = 0
    c: uint256 = 0
    v: uint256 = 0
    price_, status, c, v = self._touch(market)
    assert status != NO_FEED, "oracle: no feed"
    assert status != FEED_CALL_FAILED, "oracle: feed call failed"
    assert status != SEQUENCER_DOWN, "oracle: sequencer down"
    assert status != SEQUENCER_GRACE, "oracle: sequencer grace period"
    assert status != NON_POSITIVE, "oracle: non-positive price"
    assert status != INCOMPLETE_ROUND, "oracle: incomplete round"
    assert status != FUTURE_TIMESTAMP, "oracle: future timestamp"
    assert status != STALE, "oracle: stale price"
    assert status != OUT_OF_BOUNDS, "oracle: price out of bounds"
    return price_


@external
def poke(market: uint256):
    """
    @notice Record the current price in the accumulator (permissionless).
    """
    assert packed._lo(self._feeds[market].config) & MASK160 != 0, "oracle: no feed"
    self._touch(market)


# ---------------------------------------------------------------------------------------------
# administration


@external
def set_feed(
    market: uint256, aggregator: address, heartbeat: uint256, min_price: uint256, max_price: uint256
):
    """
    @notice Set or replace the Chainlink feed of a market (owner only). The feed must answer
            validly now; the accumulator carries on from there.
    @param heartbeat Maximum age of an answer, seconds, in (0, 2 days].
    @param min_price Lowest accepted answer, 18 decimals, > 0.
    @param max_price Highest accepted answer, 18 decimals, > min_price.
    """
    ownable._check_owner()
    assert aggregator.is_contract, "oracle: aggregator is not a contract"
    assert heartbeat != 0 and heartbeat <= MAX_HEARTBEAT, "oracle: heartbeat out of bounds"
    assert min_price != 0 and min_price < max_price, "oracle: bounds out of order"
    decimals: uint256 = convert(staticcall IAggregatorV3(aggregator).decimals(), uint256)
    assert decimals <= 18, "oracle: more than 18 decimals"
    config: uint256 = convert(aggregator, uint256) | (heartbeat << 160) | (decimals << 200)
    bounds: uint256 = packed._pack(min_price, max_price)
    price_: uint256 = 0
    status: uint256 = 0
    updated_at: uint256 = 0
    price_, status, updated_at = self._validate(config, bounds)
    assert status == OK, "oracle: feed has no valid answer"
    # a replaced feed keeps the accumulator running: funding snapshots taken from it stay valid
    cum: uint256 = 0
    valid: uint256 = 0
    previous: Feed = self._feeds[market]
    if previous.config != 0:
        cum, valid = self._accrued(previous)
    self._feeds[market] = Feed(
        config=config,
        bounds=bounds,
        accumulator=block.timestamp | (cum << 40),
        observation=price_ | ((updated_at + heartbeat) << 128) | (valid << 168),
    )
    log IOracleAdapter.FeedSet(
        market=market,
        aggregator=aggregator,
        heartbeat=heartbeat,
        decimals=decimals,
        min_price=min_price,
        max_price=max_price,
    )


@external
def set_sequencer(feed: address, grace_period_: uint256):
    """
    @notice Set (or clear, with the zero address) the L2 sequencer-uptime feed (owner only).
    @param grace_period_ Seconds after the sequencer comes back up during which prices are invalid.
    """
    ownable._check_owner()
    assert feed == empty(address) or feed.is_contract, "oracle: sequencer feed is not a contract"
    assert grace_period_ <= MAX_GRACE_PERIOD, "oracle: grace period out of bounds"
    self.sequencer = feed
    self.grace_period = grace_period_
    log IOracleAdapter.SequencerSet(feed=feed, grace_period=grace_period_)


# ---------------------------------------------------------------------------------------------
# internals


@internal
def _touch(market: uint256) -> (uint256, uint256, uint256, uint256):
    feed: Feed = self._feeds[market]
    if feed.config == 0:
        return 0, NO_FEED, 0, 0
    cum: uint256 = 0
    valid: uint256 = 0
    cum, valid = self._accrued(feed)
    price_: uint256 = 0
    status: uint256 = 0
    updated_at: uint256 = 0
    price_, status, updated_at = self._validate(feed.config, feed.bounds)
    observation: uint256 = feed.observation
    if status == OK:
        valid_until: uint256 = updated_at + ((feed.config >> 160) & MASK40)
        observation = price_ | (valid_until << 128) | (valid << 168)
    else:
        # keep the last valid price, but it stops counting as valid now
        until: uint256 = min((observation >> 128) & MASK40, block.timestamp)
        observation = (observation & MASK128) | (until << 128) | (valid << 168)
        price_ = observation & MASK128
    self._feeds[market].accumulator = block.timestamp | (cum << 40)
    self._feeds[market].observation = observation
    log IOracleAdapter.Touched(
        market=market, price=price_, status=status, cumulative=cum, valid_seconds=valid
    )
    return price_, status, cum, valid


@internal
@view
def _accrued(feed: Feed) -> (uint256, uint256):
    """
    @dev (Σ price · seconds, Σ valid seconds) up to now, carrying the last observation.
    """
    last: uint256 = feed.accumulator & MASK40
    cum: uint256 = feed.accumulator >> 40
    price_: uint256 = feed.observation & MASK128
    valid_until: uint256 = (feed.observation >> 128) & MASK40
    valid: uint256 = feed.observation >> 168
    if block.timestamp > last:
        cum += price_ * (block.timestamp - last)
        if valid_until > last:
            valid += min(valid_until, block.timestamp) - last
    return cum, valid


@internal
@view
def _read(market: uint256) -> (uint256, uint256):
    feed: Feed = self._feeds[market]
    if feed.config == 0:
        return 0, NO_FEED
    price_: uint256 = 0
    status: uint256 = 0
    updated_at: uint256 = 0
    price_, status, updated_at = self._validate(feed.config, feed.bounds)
    return price_, status


@internal
@view
def _validate(config: uint256, bounds: uint256) -> (uint256, uint256, uint256):
    """
    @dev (price in 18 decimals, status, updatedAt) of the feed's latest round.
    """
    sequencer_status: uint256 = self._sequencer_status()
    if sequencer_status != OK:
        return 0, sequencer_status, 0
    ok: bool = False
    response: Bytes[160] = b""
    ok, response = self._latest_round(convert(config & MASK160, address))
    if not ok:
        return 0, FEED_CALL_FAILED, 0
    round_id: uint256 = convert(slice(response, 0, 32), uint256)
    answer: int256 = convert(slice(response, 32, 32), int256)
    updated_at: uint256 = convert(slice(response, 96, 32), uint256)
    answered_in: uint256 = convert(slice(response, 128, 32), uint256)
    if answer <= 0:
        return 0, NON_POSITIVE, 0
    if updated_at == 0 or answered_in < round_id:
        return 0, INCOMPLETE_ROUND, 0
    if updated_at > block.timestamp:
        return 0, FUTURE_TIMESTAMP, 0
    if block.timestamp - updated_at > (config >> 160) & MASK40:
        return 0, STALE, 0
    price_: uint256 = convert(answer, uint256) * 10**(18 - ((config >> 200) & 255))
    if price_ < packed._lo(bounds) or price_ > packed._hi(bounds):
        return 0, OUT_OF_BOUNDS, 0
    return price_, OK, updated_at


@internal
@view
def _sequencer_status() -> uint256:
    feed: address = self.sequencer
    if feed == empty(address):
        return OK
    ok: bool = False
    response: Bytes[160] = b""
    ok, response = self._latest_round(feed)
    if not ok:
        return FEED_CALL_FAILED
    # Chainlink sequencer-uptime feeds: answer 0 = up, 1 = down; startedAt = last status change
    if convert(slice(response, 32, 32), int256) != 0:
        return SEQUENCER_DOWN
    if block.timestamp - convert(slice(response, 64, 32), uint256) < self.grace_period:
        return SEQUENCER_GRACE
    return OK


@internal
@view
def _latest_round(feed: address) -> (bool, Bytes[160]):
    """
    @dev `latestRoundData()` of a feed without reverting: (answered well-formed, raw response).
    """
    ok: bool = False
    response: Bytes[160] = b""
    ok, response = raw_call(
        feed,
        method_id("latestRoundData()"),
        max_outsize=160,
        is_static_call=True,
        revert_on_failure=False,
    )
    return ok and len(response) == 160, response
