# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title MockAggregator
@notice Settable Chainlink-shaped price feed for local chains and tests. Anyone can set it.
"""

from interfaces import IAggregatorV3

implements: IAggregatorV3


event AnswerUpdated:
    current: indexed(int256)
    round_id: indexed(uint256)
    updated_at: uint256


decimals: public(uint8)
description: public(String[64])
latest_round: public(uint80)
broken: public(bool)
_version: uint256
_answers: HashMap[uint80, int256]
_updated_at: HashMap[uint80, uint256]
_answered_in: HashMap[uint80, uint80]


@deploy
def __init__(decimals_: uint8, description_: String[64], answer: int256):
    self.decimals = decimals_
    self.description = description_
    self._version = 4
    self._set(answer, block.timestamp)


@external
def set_answer(answer: int256):
    """
    @notice Publish a new round with `answer`, updated now.
    """
    self._set(answer, block.timestamp)


@external
def set_round(answer: int256, updated_at: uint256, answered_in_round: uint80):
    """
    @notice Publish a new round with any timestamp and answeredInRound (to test bad data).
    """
    self._set(answer, updated_at)
    self._answered_in[self.latest_round] = answered_in_round


@external
@view
def version() -> uint256:
    return self._version


@external
def set_broken(broken_: bool):
    """
    @notice Make `latestRoundData` revert (a feed that stops answering).
    """
    self.broken = broken_


@external
@view
def latestRoundData() -> (uint80, int256, uint256, uint256, uint80):
    assert not self.broken, "feed: broken"
    round_id: uint80 = self.latest_round
    return self._round(round_id)


@external
@view
def getRoundData(round_id: uint80) -> (uint80, int256, uint256, uint256, uint80):
    assert round_id <= self.latest_round and round_id != 0, "No data present"
    return self._round(round_id)


@internal
def _set(answer: int256, updated_at: uint256):
    round_id: uint80 = self.latest_round + 1
    self.latest_round = round_id
    self._answers[round_id] = answer
    self._updated_at[round_id] = updated_at
    self._answered_in[round_id] = round_id
    log AnswerUpdated(current=answer, round_id=convert(round_id, uint256), updated_at=updated_at)


@internal
@view
def _round(round_id: uint80) -> (uint80, int256, uint256, uint256, uint80):
    updated: uint256 = self._updated_at[round_id]
    return round_id, self._answers[round_id], updated, updated, self._answered_in[round_id]
