"""Engine room, what follows a worker's action: the next task after an answer or a skip (in as
few calls as possible), the ticks of a multiple-choice task, a pause, and the news an answer
brings (a paused type, items completed early, a batch done).

Everything here is decided in the database first: the answer is credited, the press confirmed
at once, then the next task claimed; every rate-limited call is queued in the outbox
(``bot/engine/outbox.py``): a handler never awaits one."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from telegram import CallbackQuery, Message

from bot import answers, people
from bot.context import Actor, BotContext, Services
from bot.dispatch import Offer, next_for, push_status
from bot.engine.delivery import BotApplication, edit_keyboard, markup_of, services_of
from bot.engine.examples import feedback_text
from bot.engine.jobs import (
    cancel_deadline,
    edit_task_message,
    policy_of,
    queue_edit,
    queue_task,
    queue_text,
    request_dispatch,
    show_task,
    worker_unreachable,
)
from bot.engine.outbox import Priority
from bot.engine.render import answered_caption, credited_text, task_buttons
from bot.engine.telegram_errors import answer_query
from bot.errors import CapExceeded
from bot.gold import BatchEnd
from bot.i18n import Translator
from bot.tasks import task_type
from bot.telegram_ui import PICK, callback, keyboard, translator_for
from bot.texts import pause_notice_text, refusal
from bot.updates import answered
from storage.assignments import Assignment, get_assignment
from storage.batches import Batch, get_batch, get_item
from storage.db import urgent
from storage.users import User

log = logging.getLogger(__name__)

MessageRef = tuple[int, int, bool]
"""(chat, message id, is a photo) of a task message; zeros when it is not accessible."""


def message_ref(message: object) -> MessageRef:
    """(chat, message id, is a photo) of the message a button was on; zeros if inaccessible."""
    if not isinstance(message, Message):
        return (0, 0, False)
    return (message.chat_id, message.message_id, bool(message.photo))


async def status_line(
    services: Services,
    t: Translator,
    worker_id: int,
    *,
    worker: User | None = None,
    cap_left: int | None = None,
) -> str:
    """Why no task follows: nothing to do, a pause, quiet hours, no window, or the cap."""
    policy = policy_of(services)
    now = services.clock.now()
    status = await push_status(services.db, policy, worker_id, now, user=worker, left=cap_left)
    if status == "cap":
        return t("tasks.status.cap", reset=t.date(policy.next_month_start(now)))
    return t(f"tasks.status.{status}")


@dataclass(frozen=True)
class FollowUp:
    """What follows a worker's action, decided (the next task claimed) but not yet sent."""

    worker_id: int
    old: MessageRef
    ended_caption: str
    header: str | None
    offer: Offer | None
    priority: Priority


async def plan_follow_up(
    application: BotApplication,
    worker_id: int,
    old: MessageRef,
    *,
    ended_caption: str,
    header: str | None,
    t: Translator | None = None,
    worker: User | None = None,
    cap_left: int | None = None,
    priority: Priority = Priority.NEXT_TASK,
) -> FollowUp:
    """Claim the next task after an answer or a skip, or say in the old caption why none follows.

    ``t``, ``worker`` and ``cap_left``, when the caller has them (an answer), are not read again.
    """
    services = services_of(application)
    with urgent(False):  # the press is answered: presses still waiting go to the writer first
        offer = await next_for(
            services.db,
            policy_of(services),
            worker_id,
            services.clock.now(),
            user=worker,
            left=cap_left,
        )
    if offer is None:
        if t is None:
            t = await translator_for(services, worker_id)
        status = await status_line(services, t, worker_id, worker=worker, cap_left=cap_left)
        ended_caption += "\n\n" + status
    return FollowUp(worker_id, old, ended_caption, header, offer, priority)


def send_follow_up(application: BotApplication, plan: FollowUp) -> bool:
    """Queue what a plan decided, in as few calls as possible; True when a next task is queued.

    A photo task becomes the next photo task in one ``editMessageMedia``; otherwise the old
    message shows how it ended and the next task comes as a new message (two deliveries of the
    same chat, which the outbox keeps in order).
    """
    chat_id, message_id, is_photo = plan.old
    offer = plan.offer
    if (
        offer is not None
        and is_photo
        and offer.item.media_kind == "image"
        and not offer.examples_due  # examples come first, then the task below them
        and not task_type(offer.batch.type).takes_text  # its reply prompt needs a new task
    ):
        services_of(application).outbox.submit(
            chat_id, _replacing(application, plan, offer), plan.priority, what="next task"
        )
        return True
    if chat_id:
        queue_edit(application, (chat_id, message_id), plan.ended_caption, plan.priority)
    if offer is not None:
        queue_task(application, offer, plan.priority, header=plan.header)
    return offer is not None


def _replacing(
    application: BotApplication, plan: FollowUp, offer: Offer
) -> Callable[[], Awaitable[None]]:
    chat_id, message_id, _ = plan.old
    queued = services_of(application).clock.now()

    async def deliver() -> None:
        async with services_of(application).runtime.message_lock(chat_id, message_id):
            if not await show_task(
                application, offer, replace=(chat_id, message_id), header=plan.header, queued=queued
            ):  # the old message still shows the old task
                await edit_task_message(application, chat_id, message_id, plan.ended_caption)

    return deliver


async def follow_up(
    application: BotApplication,
    worker_id: int,
    old: MessageRef,
    *,
    ended_caption: str,
    header: str | None,
    priority: Priority = Priority.NEXT_TASK,
) -> bool:
    """Claim and queue what follows (``plan_follow_up`` then ``send_follow_up``)."""
    plan = await plan_follow_up(
        application, worker_id, old, ended_caption=ended_caption, header=header, priority=priority
    )
    return send_follow_up(application, plan)


# -- answers ---------------------------------------------------------------------------------------


async def submit_by_button(
    context: BotContext,
    query: CallbackQuery,
    actor: Actor,
    assignment_id: int,
    *,
    label: int | None = None,
    from_draft: bool = False,
) -> None:
    """Store and credit a button answer, confirm the press at once (saying the next task is
    coming), then claim the next task and queue what follows: no rate-limited call is awaited
    here."""
    services = context.services
    t = actor.t
    with services.runtime.handling(actor.user.id):
        try:
            credited = await answers.submit(
                services.db,
                policy_of(services),
                assignment_id,
                actor.user.id,
                services.clock.now(),
                label=label,
                from_draft=from_draft,
            )
        except CapExceeded as error:
            await answer_query(query, refusal(t, error), alert=True)
            chat_id, message_id, _ = message_ref(query.message)
            if chat_id:
                queue_edit(
                    context.application,
                    (chat_id, message_id),
                    t("tasks.released_cap"),
                    Priority.NEXT_TASK,
                )
            return
        # The press is confirmed as soon as the answer is credited, before the claim (a write
        # transaction of its own) can make it wait. A next task is promised unless the cap or a
        # pause rules it out; when the claim then finds none, the old caption says why.
        coming = credited.cap_left > 0 and not credited.quality.pauses
        text = credited_text(t, credited)
        await answer_query(query, text + (" " + t("crowd.next_coming") if coming else ""))
        await answered()  # other presses are answered before this one's next task is claimed
        plan = await after_answer(context, message_ref(query.message), t, credited, actor.user)
        await tell_after_answer(context.application, actor.user.id, t, credited, plan)


async def submit_text(
    context: BotContext, message: Message, actor: Actor, assignment: Assignment
) -> None:
    """Store and credit a transcription, then queue the next task (or say why none follows).

    The caller marks the worker busy; a refusal (``UserError``) goes to the caller.
    """
    services = context.services
    t = actor.t
    assert message.text is not None
    credited = await answers.submit(
        services.db,
        policy_of(services),
        assignment.id,
        actor.user.id,
        services.clock.now(),
        text=message.text,
    )
    old = (assignment.chat_id or 0, assignment.message_id or 0, False)
    plan = await after_answer(context, old, t, credited, actor.user)
    shown = await tell_after_answer(context.application, actor.user.id, t, credited, plan)
    if not shown:
        status = await status_line(
            services, t, actor.user.id, worker=actor.user, cap_left=credited.cap_left
        )
        queue_text(
            context.application,
            message.chat_id,
            credited_text(t, credited) + "\n\n" + status,
            Priority.NEXT_TASK,
        )


async def after_answer(
    context: BotContext,
    old: MessageRef,
    t: Translator,
    credited: answers.Credited,
    worker: User,
) -> FollowUp | None:
    """After a credited answer: stop its timer, wake the dispatcher, claim the next task."""
    application = context.application
    cancel_deadline(application, credited.assignment.id)
    request_dispatch(application)  # the item may now be complete; others may be waiting
    if not old[0]:
        return None
    ended = answered_caption(t, credited)
    training = credited.quality.training
    if training is not None:  # the feedback stays on the task's message; the next comes below
        ended = ended + "\n\n" + feedback_text(t, training)
        old = (old[0], old[1], False)
    return await plan_follow_up(
        application,
        worker.id,
        old,
        ended_caption=ended,
        header=t("tasks.header.credited", amount=t.money(credited.amount)),
        t=t,
        worker=worker,
        cap_left=credited.cap_left,
    )


async def tell_after_answer(
    application: BotApplication,
    worker_id: int,
    t: Translator,
    credited: answers.Credited,
    plan: FollowUp | None,
) -> bool:
    """Queue what an answer changed (a pause, the next task, items and batches ended); True
    when a next task is queued."""
    _tell_pauses(application, worker_id, t, credited)
    shown = plan is not None and send_follow_up(application, plan)
    await _tell_item_and_batch_end(application, credited)
    return shown


# -- ticks, skips and pauses -----------------------------------------------------------------------


async def show_ticks(
    context: BotContext, t: Translator, batch: Batch, assignment_id: int, message: object
) -> None:
    """Queue the ticked labels of a multiple-choice task under its message (if still open)."""
    services = context.services
    chat_id, message_id, _ = message_ref(message)
    if not chat_id:
        return
    application = context.application

    async def deliver() -> None:
        async with services.runtime.message_lock(chat_id, message_id):
            current = await services.db.run_read(get_assignment, assignment_id)
            if current is None or not current.open_at(services.clock.now()):
                return
            markup = markup_of(task_buttons(t, batch, assignment_id, current.draft))
            if not await edit_keyboard(application, chat_id, message_id, markup):
                await worker_unreachable(application, chat_id)

    services.outbox.submit(chat_id, deliver, Priority.NEXT_TASK, what="ticks")


async def after_skip(
    context: BotContext, t: Translator, worker_id: int, skipped: Assignment, message: object
) -> None:
    """A skipped task (its timer already stopped): the dispatcher wakes, the next task follows."""
    batch = await context.services.db.run_read(get_batch, skipped.batch_id)
    title = batch.title if batch else ""
    await after_release(
        context,
        worker_id,
        skipped.id,
        message,
        ended_caption=t("tasks.skipped", title=title),
        header=t("tasks.header.skipped"),
    )


async def after_release(
    context: BotContext,
    worker_id: int,
    assignment_id: int,
    message: object,
    *,
    ended_caption: str,
    header: str,
) -> None:
    """A task the worker gave back (skipped, reported, its requester muted): its timer stops,
    the dispatcher wakes, its message says how it ended and the next task is queued."""
    application = context.application
    cancel_deadline(application, assignment_id)
    request_dispatch(application)
    old = message_ref(message)
    if not old[0]:
        return
    await follow_up(application, worker_id, old, ended_caption=ended_caption, header=header)


async def after_pause(
    context: BotContext, t: Translator, assignment_id: int, message: object
) -> None:
    """A task given back by Pause: its timer stops, the dispatcher wakes, its message says so."""
    application = context.application
    cancel_deadline(application, assignment_id)
    request_dispatch(application)
    chat_id, message_id, _ = message_ref(message)
    if chat_id:
        queue_edit(application, (chat_id, message_id), t("tasks.paused"), Priority.NEXT_TASK)


# -- quality news after an answer: a paused type, an item completed early, a batch done ----------


def _tell_pauses(
    application: BotApplication, worker_id: int, t: Translator, credited: answers.Credited
) -> None:
    """The worker is told at once why a type was paused, with the numbers, and what to do."""
    for notice in credited.quality.pauses:
        queue_text(application, worker_id, pause_notice_text(t, notice), Priority.NEXT_TASK)


async def _tell_item_and_batch_end(application: BotApplication, credited: answers.Credited) -> None:
    """Workers whose task an early stop released get the next one; the requester of a batch
    that just ended gets its summary."""
    await tell_released(application, credited.batch, credited.quality.released)
    if credited.quality.batch_end is not None:
        await tell_batch_end(application, credited.quality.batch_end)


async def tell_released(
    application: BotApplication, batch: Batch, released: Sequence[Assignment]
) -> None:
    """Each worker whose task on ``batch`` was released because its item completed: the task
    message says so, and the next task follows."""
    services = services_of(application)
    for assignment in released:
        cancel_deadline(application, assignment.id)
        if assignment.chat_id is None or assignment.message_id is None:
            continue
        item = await services.db.run_read(get_item, assignment.item_id)
        is_photo = item is not None and item.media_kind == "image"
        wt = await translator_for(services, assignment.worker_id)
        with services.runtime.handling(assignment.worker_id):
            await follow_up(
                application,
                assignment.worker_id,
                (assignment.chat_id, assignment.message_id, is_photo),
                ended_caption=wt("quality.item_completed", title=batch.title),
                header=wt("quality.header.item_completed"),
                priority=Priority.PUSH,
            )


async def tell_batch_end(application: BotApplication, end: BatchEnd) -> None:
    """The requester of a batch that just ended gets its summary, with its results button."""
    services = services_of(application)
    requester = end.batch.requester_id
    rt = await _known_translator(services, requester)
    if rt is None:
        return  # never wrote to the bot: Telegram would refuse the message
    text = rt(
        "quality.batch_done" if end.review_batch_id is None else "quality.batch_done_review",
        id=end.batch.id,
        title=end.batch.title,
        items=end.items,
        answers=end.answers,
        spent=rt.money(end.spent),
        refunded=rt.money(end.refunded),
        review=end.review_batch_id,
    )
    results = keyboard([[(rt("batches.button.results"), callback(PICK, "results", end.batch.id))]])
    queue_text(application, requester, text, Priority.NOTICE, worker=False, reply_markup=results)


async def _known_translator(services: Services, user_id: int) -> Translator | None:
    if await people.find_user(services.db, user_id) is None:
        return None
    return await translator_for(services, user_id)
