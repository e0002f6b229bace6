"""When the consumer watchdog calls a consumer stalled: messages wait, none is in hand, none came lately."""

from __future__ import annotations

from aiokafka import TopicPartition

from adrelay.messaging.watchdog import DeliveryProgress, stall_reason

TP0 = TopicPartition("t.adrelay.campaign-status", 0)
TP1 = TopicPartition("t.adrelay.campaign-status", 1)


def test_waiting_messages_with_nothing_delivered_for_the_window_is_a_stall() -> None:
    reason = stall_reason(idle_s=31, in_flight=0, lag={TP0: 0, TP1: 3}, stall_after_s=30)
    assert reason == "no message delivered for 31 s while 3 wait (t.adrelay.campaign-status[1]=3)"


def test_a_message_in_hand_is_slow_work_not_a_stall() -> None:
    assert stall_reason(idle_s=600, in_flight=1, lag={TP0: 5}, stall_after_s=30) is None


def test_a_recent_delivery_is_not_a_stall() -> None:
    assert stall_reason(idle_s=29, in_flight=0, lag={TP0: 5}, stall_after_s=30) is None


def test_an_idle_consumer_with_nothing_waiting_is_not_a_stall() -> None:
    assert stall_reason(idle_s=600, in_flight=0, lag={TP0: 0, TP1: 0}, stall_after_s=30) is None


def test_delivery_progress_counts_messages_in_hand() -> None:
    progress = DeliveryProgress()
    before = progress.last_delivery
    progress.started()
    progress.started()
    progress.finished()
    assert progress.in_flight == 1 and progress.last_delivery >= before
