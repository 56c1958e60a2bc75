"""Intake, pricing: the fair default reward, the floor warning, the most a batch can cost."""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import Problem

SECONDS_PER_HOUR = 3600


def default_reward(seconds_per_task: int, min_hourly_rate: int) -> int:
    """``min_hourly_rate`` (cents an hour) x ``seconds_per_task`` / 3600, rounded up to the cent."""
    return -(-min_hourly_rate * seconds_per_task // SECONDS_PER_HOUR)


def floor_warning(reward: int, seconds_per_task: int, min_hourly_rate: int) -> Problem | None:
    """A warning when ``reward`` (cents) pays below the hourly floor, else None.

    Parameters are in cents (``reward_cents``, ``floor_cents``, ``hourly_cents``) and the hourly
    rate the reward gives, rounded down (``effective_hourly_cents``).
    """
    floor = default_reward(seconds_per_task, min_hourly_rate)
    if reward >= floor:
        return None
    return Problem(
        "batch.reward_below_floor",
        {
            "reward_cents": reward,
            "floor_cents": floor,
            "hourly_cents": min_hourly_rate,
            "effective_hourly_cents": reward * SECONDS_PER_HOUR // seconds_per_task,
            "seconds_per_task": seconds_per_task,
        },
    )


def most_possible_cost(items: int, answers_per_item: int, reward: int) -> int:
    """Cents held in escrow at publishing: every item answered ``answers_per_item`` times."""
    return items * answers_per_item * reward


def shortfall(cost: int, balance: int) -> int:
    """Cents missing from ``balance`` to cover ``cost`` (0 when it is enough)."""
    return max(0, cost - balance)


@dataclass(frozen=True)
class Quote:
    """What the requester sees before publishing; amounts in cents."""

    items: int
    gold_items: int
    answers_per_item: int
    reward: int
    floor: int

    @classmethod
    def build(
        cls,
        *,
        items: int,
        gold_items: int,
        answers_per_item: int,
        reward: int,
        seconds_per_task: int,
        min_hourly_rate: int,
    ) -> Quote:
        """The quote of a batch, its floor computed from the task estimate and the hourly rate."""
        floor = default_reward(seconds_per_task, min_hourly_rate)
        return cls(items, gold_items, answers_per_item, reward, floor)

    @property
    def cost(self) -> int:
        """The most the batch can cost."""
        return most_possible_cost(self.items, self.answers_per_item, self.reward)

    @property
    def below_floor(self) -> bool:
        """The reward pays less than the fair-pay floor."""
        return self.reward < self.floor

    def shortfall(self, balance: int) -> int:
        """Cents missing from ``balance`` to publish."""
        return shortfall(self.cost, balance)
