"""The words people read for the cases service's codes (zh-CN): case states, case actions, deadline
kinds and a department's moves on a whistle (吹哨报到). One vocabulary for every domain of cases."""

from __future__ import annotations

STATE_ZH = {
    "received": "受理",
    "graded": "研判",
    "assigned": "交办",
    "in_progress": "处置中",
    "suspended": "挂起",
    "returned": "退回",
    "resolved": "办结",
    "replied": "答复",
    "revisited": "回访",
    "closed": "销号",
    "merged": "并案",
    "rejected": "不予受理",
}

ACTION_ZH = {
    "grade": "研判",
    "assign": "交办",
    "contact": "联系当事人",
    "whistle": "吹哨",
    "suspend": "挂起",
    "resume": "恢复",
    "extend": "延期",
    "escalate": "提级",
    "update": "进展更新",
    "resolve": "办结",
    "reply": "答复",
    "defer": "说明短期内难以解决",
    "revisit": "回访",
    "close": "销号",
    "merge": "并案",
    "reject": "不予受理",
    "reopen": "重新办理",
}

# the kinds of deadline (时限) a case runs
KIND_ZH = {
    "contact": "联系当事人",
    "major_report": "重大事项报告",
    "acknowledge": "部门报到",
    "resolve": "办结",
    "reply": "答复",
    "first_response": "首次回应",
    "update": "进展更新",
    "revisit": "回访",
}

# what a department does with a whistle blown to it (报到 …)
WHISTLE_MOVE_ZH = {"ack": "报到", "progress": "报告进展", "done": "报告办结", "return": "退回"}

# how a case came in: a grid worker's report, or the centre's desk (DOMAIN.md "What comes in")
CHANNEL_ZH = {
    "grid": "网格员上报",
    "visit": "来访",
    "phone": "来电",
    "letter": "来信",
    "hotline_12345": "12345热线",
    "online": "网上",
}

OUTCOME_ZH = {
    "mediated": "调解成功",
    "mediation_failed": "调解不成",
    "judicial_confirmation": "司法确认",
    "litigation": "转诉讼",
    "administrative": "行政处理",
    "withdrawn": "撤回",
    "referred": "移交",
}

SATISFACTION_ZH = {"satisfied": "满意", "basically_satisfied": "基本满意", "dissatisfied": "不满意"}
