# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title OracleAdapter
@notice Chainlink AggregatorV3 prices per market, validated on every read and normalised to 18
        decimals (quote per base), with an O(1) index accumulator that counts only the seconds
        in which the index was valid: Σ price · valid seconds and Σ valid seconds. The index
        TWAP over any interval is Δ(Σ price · valid s) / Δ(Σ valid s), the average over the
        seconds the index was valid, and Δ(Σ valid s) says how many seconds of it were valid.
@dev A read is valid when, checked in this order (the first failure is the status): a
     sequencer-uptime feed, when set, answers (2), with a well-formed round (startedAt ≠ 0 and
     ≤ now, answer 0 or 1: 10), reports up (answer 0: 3) since at least the grace period (4);
     the price feed answers (2); answer > 0 (5); updatedAt ≠ 0 and answeredInRound ≥ roundId
     (6); updatedAt ≤ now (7); the answer lies within the feed's min/max bounds (9); now −
     updatedAt ≤ the feed's heartbeat (8). Only `latestRoundData` is read: the adapter never
     assumes that roundId ± 1 exists, so it learns of rounds only when touched.

     Validity over time. A round is valid from its updatedAt for one heartbeat or until the
     next round, whichever comes first. The adapter stores the last observation (price p0,
     valid until u0) and the time of the last touch `last`. A touch at `now` reads the latest
     round (p1, updatedAt t1) and counts the seconds of [last, now]:
       * p1 well-formed and in bounds (valid now, or stale now), t1 ≥ last (published since
         the last touch): p0 over [last, min(u0, t1)], p1 over [t1, min(t1 + heartbeat, now)];
         a gap (u0, t1) is invalid (rounds not seen are not assumed);
       * p1 well-formed and in bounds, t1 < last (the round seen before): p0 over
         [last, min(u0, now)]; the observation continues with p1 (valid until t1 + heartbeat);
       * any other read: p0 over [last, min(u0, now, c)], where c is the time the bad round
         superseded p0 when known and in [last, now]: the bad round's updatedAt, or the
         sequencer's startedAt when it reports down; p0 is kept as the last price but counts
         no longer: nothing counts until a round read well-formed.
     With a sequencer feed that reports up, every segment starts no earlier than its
     startedAt + grace period (an outage between two touches, seen only through startedAt,
     is not counted). So a round published before the previous one expired keeps the
     coverage continuous however late the adapter is touched, as long as each round is seen
     by some touch, and an invalid stretch costs exactly its own seconds.

     Σ price · valid seconds < 2**176 always (price < 2**128, Σ valid seconds < 2**48).
     `cumulative` returns exactly what a touch now would record (it reads the latest round),
     so readers that do not write (the ClearingHouse's funding accrual on closes, margin
     changes and liquidations) count every valid second, including those of a round no touch
     has seen yet; the values are final as of now.

     Reentrancy: every external call this contract makes is a STATICCALL (feeds, `decimals`),
     and no state is written before one, so nothing can re-enter to write and a reentrant read
     sees consistent state; the hot entry points are therefore `@reentrant` (no lock to pay).
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

# statuses; `touch_valid` reverts with the string next to each
OK: constant(uint256) = 0
NO_FEED: constant(uint256) = 1  # "oracle: no feed"
FEED_CALL_FAILED: constant(uint256) = 2  # "oracle: feed call failed"
SEQUENCER_DOWN: constant(uint256) = 3  # "oracle: sequencer down"
SEQUENCER_GRACE: constant(uint256) = 4  # "oracle: sequencer grace period"
NON_POSITIVE: constant(uint256) = 5  # "oracle: non-positive price"
INCOMPLETE_ROUND: constant(uint256) = 6  # "oracle: incomplete round"
FUTURE_TIMESTAMP: constant(uint256) = 7  # "oracle: future timestamp"
STALE: constant(uint256) = 8  # "oracle: stale price"
OUT_OF_BOUNDS: constant(uint256) = 9  # "oracle: price out of bounds"
INVALID_SEQUENCER_ROUND: constant(uint256) = 10  # "oracle: invalid sequencer round"

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
    # last observed price, 18 decimals (low 128) | last touch (next 40) | valid until (next 40) |
    # Σ valid seconds (high 48)
    observation: uint256
    # Σ price · valid seconds (18-decimal quote per base × seconds)
    cumulative: uint256


_feeds: HashMap[uint256, Feed]
# sequencer-uptime feed (low 160 bits) | grace period, seconds (next 40): one word to read
_sequencer: uint256


@deploy
def __init__():
    ownable.__init__()
    ownable_2step.__init__()


# ---------------------------------------------------------------------------------------------
# reads


@external
@view
@reentrant
def price(market: uint256) -> (uint256, uint256):
    """
    @notice The market's current index price and its status; nothing is recorded.
    @param market The market id.
    @return (price, status): price in 18 decimals (quote per base), 0 unless status is 0
            (valid); status 1 no feed, 2 feed call failed, 3 sequencer down, 4 sequencer
            grace period, 5 non-positive price, 6 incomplete round, 7 future timestamp,
            8 stale price, 9 price out of bounds, 10 invalid sequencer round. Never reverts.
    """
    config: uint256 = self._feeds[market].config
    if config == 0:
        return 0, NO_FEED
    price_: uint256 = 0
    status: uint256 = 0
    round_at: uint256 = 0
    since: uint256 = 0
    price_, status, round_at, since = self._validate(config, self._feeds[market].bounds)
    if status != OK:
        return 0, status
    return price_, OK


@external
@view
@reentrant
def sequencer() -> address:
    """
    @notice The L2 sequencer-uptime feed, or the zero address when none is set.
    """
    return convert(self._sequencer & MASK160, address)


@external
@view
@reentrant
def grace_period() -> uint256:
    """
    @notice Seconds after the sequencer comes back up during which prices are invalid.
    """
    return self._sequencer >> 160


@external
@view
@reentrant
def cumulative(market: uint256) -> (uint256, uint256, uint256):
    """
    @notice The index accumulator accrued up to now, exactly as a touch now would record it
            (the feed's latest round is read), without writing.
    @param market The market id (an unknown market gives (0, 0, now)).
    @return (Σ price · valid seconds, Σ valid seconds, now): Σ in 18-decimal quote per base ×
            seconds, valid seconds in seconds, now = block.timestamp. Over [a, b] the index
            TWAP is Δ(Σ price · valid s) / Δ(Σ valid s) and Δ(Σ valid s) seconds were valid.
            A round published since the last touch counts from its updatedAt, so every valid
            second is counted whenever the adapter is read.
    """
    price_: uint256 = 0
    status: uint256 = 0
    cum: uint256 = 0
    valid: uint256 = 0
    observation: uint256 = 0
    price_, status, cum, valid, observation = self._observe(market)
    return cum, valid, block.timestamp


@external
@view
@reentrant
def observation(market: uint256) -> (uint256, uint256, uint256):
    """
    @notice The stored observation.
    @param market The market id (an unknown market gives (0, 0, 0)).
    @return (price, valid until, last touch): the last observed well-formed price in 18
            decimals, the timestamp up to which it counts as valid (≤ last touch once a read
            was invalid), and the timestamp of the last touch (or `set_feed`).
    """
    observation: uint256 = self._feeds[market].observation
    return observation & MASK128, (observation >> 168) & MASK40, (observation >> 128) & MASK40


@external
@reentrant
def touch(market: uint256) -> (uint256, uint256, uint256, uint256):
    """
    @notice Read and validate the latest round and record it in the accumulator (counting
            the seconds since the last touch as the contract's @dev says). Logs `Touched`.
            Never reverts.
    @param market The market id.
    @return (price, status, Σ price · valid seconds, Σ valid seconds), final up to now. price is
            18 decimals: the round read when status is 0, else the last observed price (0 for
            status 1, no feed, with both sums 0). Statuses as in `price`.
    """
    return self._touch(market)


@external
@reentrant
def touch_valid(market: uint256) -> uint256:
    """
    @notice As `touch`, but reverts with the reason unless the price is valid.
    @param market The market id.
    @return The valid price, 18 decimals (quote per base).
    @dev Revert strings: "oracle: no feed", "oracle: feed call failed", "oracle: sequencer
         down", "oracle: sequencer grace period", "oracle: non-positive price", "oracle:
         incomplete round", "oracle: future timestamp", "oracle: stale price", "oracle: price
         out of bounds", "oracle: invalid sequencer round".
    """
    price_: uint256 = 0
    status: uint256 = 0
    c: uint256 = 0
    v: uint256 = 0
    price_, status, c, v = self._touch(market)
    if status != OK:
        assert status != NO_FEED, "oracle: no feed"
        assert status != FEED_CALL_FAILED, "oracle: feed call failed"
        assert status != SEQUENCER_DOWN, "oracle: sequencer down"
        assert status != SEQUENCER_GRACE, "oracle: sequencer grace period"
        assert status != NON_POSITIVE, "oracle: non-positive price"
        assert status != INCOMPLETE_ROUND, "oracle: incomplete round"
        assert status != FUTURE_TIMESTAMP, "oracle: future timestamp"
        assert status != STALE, "oracle: stale price"
        assert status != OUT_OF_BOUNDS, "oracle: price out of bounds"
        raise "oracle: invalid sequencer round"
    return price_


@external
@reentrant
def poke(market: uint256):
    """
    @notice Record the latest round in the accumulator (permissionless), as `touch`. Keepers
            poke after every round so that each is seen.
    @param market The market id; reverts with "oracle: no feed" for a market without a feed.
    """
    price_: uint256 = 0
    status: uint256 = 0
    c: uint256 = 0
    v: uint256 = 0
    price_, status, c, v = self._touch(market)
    assert status != NO_FEED, "oracle: no feed"


# ---------------------------------------------------------------------------------------------
# administration


@external
def set_feed(
    market: uint256, aggregator: address, heartbeat: uint256, min_price: uint256, max_price: uint256
):
    """
    @notice Set or replace the Chainlink feed of a market (owner only). The feed must answer
            validly now. A replaced feed is touched first, so the old feed accounts for the
            seconds up to now, and the accumulators carry on from there with the new feed.
    @param market The market id.
    @param aggregator The AggregatorV3 feed (at most 18 decimals).
    @param heartbeat Maximum age of an answer, seconds, in (0, 2 days].
    @param min_price Lowest accepted answer, 18 decimals, > 0.
    @param max_price Highest accepted answer, 18 decimals, > min_price, < 2**128.
    @dev Reverts: "ownable: caller is not the owner", "oracle: aggregator is not a contract",
         "oracle: heartbeat out of bounds", "oracle: bounds out of order", "packed: overflow",
         "oracle: more than 18 decimals", "oracle: feed has no valid answer".
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
    since: uint256 = 0
    price_, status, updated_at, since = self._validate(config, bounds)
    assert status == OK, "oracle: feed has no valid answer"
    valid: uint256 = 0
    if self._feeds[market].config != 0:
        # a replaced feed keeps the accumulators running: funding snapshots stay valid
        self._touch(market)
        valid = self._feeds[market].observation >> 208
    self._feeds[market].config = config
    self._feeds[market].bounds = bounds
    self._feeds[market].observation = (
        price_ | (block.timestamp << 128) | ((updated_at + heartbeat) << 168) | (valid << 208)
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
            Chainlink semantics: answer 0 = up, 1 = down; startedAt = when the status last
            changed.
    @param feed The sequencer-uptime AggregatorV3 feed, or the zero address.
    @param grace_period_ Seconds after the sequencer comes back up during which prices are
           invalid, at most 1 day.
    @dev Reverts: "ownable: caller is not the owner", "oracle: sequencer feed is not a
         contract", "oracle: grace period out of bounds".
    """
    ownable._check_owner()
    assert feed == empty(address) or feed.is_contract, "oracle: sequencer feed is not a contract"
    assert grace_period_ <= MAX_GRACE_PERIOD, "oracle: grace period out of bounds"
    self._sequencer = convert(feed, uint256) | (grace_period_ << 160)
    log IOracleAdapter.SequencerSet(feed=feed, grace_period=grace_period_)


# ---------------------------------------------------------------------------------------------
# internals


@internal
def _touch(market: uint256) -> (uint256, uint256, uint256, uint256):
    """
    @dev Reads the latest round, accrues the seconds since the last touch (contract @dev) and
         stores the new observation. (price, status, Σ price · valid s, Σ valid s).
    """
    price_: uint256 = 0
    status: uint256 = 0
    cum: uint256 = 0
    valid: uint256 = 0
    observation: uint256 = 0
    price_, status, cum, valid, observation = self._observe(market)
    if status == NO_FEED:
        return 0, NO_FEED, 0, 0
    self._feeds[market].observation = observation
    self._feeds[market].cumulative = cum
    if status != OK:
        price_ = observation & MASK128
    log IOracleAdapter.Touched(
        market=market, price=price_, status=status, cumulative=cum, valid_seconds=valid
    )
    return price_, status, cum, valid


@internal
@view
def _observe(market: uint256) -> (uint256, uint256, uint256, uint256, uint256):
    """
    @dev What a touch now records: (price (0 unless well-formed and in bounds), status,
         Σ price · valid s, Σ valid s, the new observation word).
    """
    config: uint256 = self._feeds[market].config
    if config == 0:
        return 0, NO_FEED, 0, 0, 0
    price_: uint256 = 0
    status: uint256 = 0
    round_at: uint256 = 0
    since: uint256 = 0
    price_, status, round_at, since = self._validate(config, self._feeds[market].bounds)
    observation: uint256 = self._feeds[market].observation
    cum: uint256 = self._feeds[market].cumulative
    last: uint256 = (observation >> 128) & MASK40
    valid: uint256 = observation >> 208
    fresh: bool = round_at >= last and round_at <= block.timestamp  # published since `last`

    # the stored observation: until it expires, now, or a round published since supersedes it
    start: uint256 = max(last, since)
    end: uint256 = min((observation >> 168) & MASK40, block.timestamp)
    if fresh:
        end = min(end, round_at)
    if end > start:
        cum += (observation & MASK128) * (end - start)
        valid += end - start

    if price_ != 0:
        # a well-formed round in bounds (valid, or stale now): it was valid for one heartbeat
        until: uint256 = round_at + ((config >> 160) & MASK40)
        if fresh:
            start = max(round_at, since)
            end = min(until, block.timestamp)
            if end > start:
                cum += price_ * (end - start)
                valid += end - start
        observation = price_ | (block.timestamp << 128) | (until << 168) | (valid << 208)
    else:
        # keep the last price; it counts no longer (end ≤ now)
        observation = (
            (observation & MASK128) | (block.timestamp << 128) | (end << 168) | (valid << 208)
        )
    return price_, status, cum, valid, observation


@internal
@view
def _validate(config: uint256, bounds: uint256) -> (uint256, uint256, uint256, uint256):
    """
    @dev (price, status, round time, sequencer up since) of the latest round.
         price: 18 decimals when the round is well-formed and in bounds (status 0 or stale),
         else 0. round time: the round's updatedAt when the feed answered, the sequencer's
         startedAt when it reports down, else 0. sequencer up since: startedAt + grace period
         when the sequencer reports up (0 without a sequencer feed).
    """
    since: uint256 = 0
    ok: bool = False
    response: Bytes[160] = b""
    sequencer_: uint256 = self._sequencer
    if sequencer_ & MASK160 != 0:
        ok, response = self._latest_round(convert(sequencer_ & MASK160, address))
        if not ok:
            return 0, FEED_CALL_FAILED, 0, 0
        # Chainlink sequencer-uptime feeds: answer 0 = up, 1 = down; startedAt = last change
        up: int256 = convert(slice(response, 32, 32), int256)
        started_at: uint256 = convert(slice(response, 64, 32), uint256)
        if started_at == 0 or started_at > block.timestamp or up < 0 or up > 1:
            return 0, INVALID_SEQUENCER_ROUND, 0, 0
        if up == 1:
            return 0, SEQUENCER_DOWN, started_at, 0
        since = started_at + (sequencer_ >> 160)
        if since > block.timestamp:
            return 0, SEQUENCER_GRACE, 0, since
    ok, response = self._latest_round(convert(config & MASK160, address))
    if not ok:
        return 0, FEED_CALL_FAILED, 0, since
    round_id: uint256 = convert(slice(response, 0, 32), uint256)
    answer: int256 = convert(slice(response, 32, 32), int256)
    updated_at: uint256 = convert(slice(response, 96, 32), uint256)
    answered_in: uint256 = convert(slice(response, 128, 32), uint256)
    if answer <= 0:
        return 0, NON_POSITIVE, updated_at, since
    if updated_at == 0 or answered_in < round_id:
        return 0, INCOMPLETE_ROUND, updated_at, since
    if updated_at > block.timestamp:
        return 0, FUTURE_TIMESTAMP, updated_at, since
    scale: uint256 = 10**(18 - ((config >> 200) & 255))
    raw: uint256 = convert(answer, uint256)
    # compared before scaling, so that no answer can overflow
    if raw > packed._hi(bounds) // scale or raw * scale < packed._lo(bounds):
        return 0, OUT_OF_BOUNDS, updated_at, since
    if block.timestamp - updated_at > (config >> 160) & MASK40:
        return raw * scale, STALE, updated_at, since
    return raw * scale, OK, updated_at, since


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
