"""Attendance, the observation of each official that more than one built-in check reads.

Not a check: working hours judge it, office culture only looks at those at work. Both declare
the field from here, so that they declare it identically, as checks sharing a field must.
"""

from __future__ import annotations

from compliance import Code, observed


class Attendance(Code):
    present = "present", "có mặt", "present"
    late = "late", "đi muộn", "late"
    absent = "absent", "vắng mặt", "absent"


AT_WORK = (Attendance.present, Attendance.late)


def attendance_field() -> Attendance | None:
    """The declaration of `attendance`, the same wherever a check reads it."""
    return observed(  # type: ignore[no-any-return]
        "Present, late or absent when the team arrived; null when not checked.",
        "Có mặt, đi muộn hay vắng mặt khi đoàn kiểm tra đến; null nếu không kiểm tra.",
        examples=["late"],
    )
