"""The pure core: the merge rule, the consent gate and the decisions, over plain data.

It imports only the standard library and itself: no Kafka, Faust, SQL,
logging, settings or clock. Time comes in as an argument. The Faust agents,
the replay tool and the tests all call the same functions.
"""

from streams.core.catalogue import ALL_ATTRIBUTES, ATTRIBUTES, LEVELS
from streams.core.consent import Verdict, Withheld, active_grant, consented, gate
from streams.core.decide import decide, decide_all
from streams.core.erasure import ERASED, erase
from streams.core.facts import (
    Claim,
    ConsentGrant,
    ConsentWithdrawal,
    Erase,
    Fact,
    Input,
    Reevaluate,
    Retraction,
    SubscriptionChange,
    level_rank,
)
from streams.core.merge import EMPTY, ResidentState, best_claim, fold, fold_all, join
from streams.core.outputs import (
    AuditDecision,
    AuditEntry,
    Delivery,
    Ending,
    rejection,
    subscription_rejection,
)
from streams.core.permissions import (
    CATALOGUE,
    Kind,
    Permission,
    Reason,
    Refusal,
    Request,
    Role,
    permitted,
)
from streams.core.profile import Holding, Outcome, Profile, next_expiry, view
from streams.core.subscriptions import Directory, apply, apply_all

__all__ = [
    "ALL_ATTRIBUTES",
    "ATTRIBUTES",
    "CATALOGUE",
    "EMPTY",
    "ERASED",
    "LEVELS",
    "AuditDecision",
    "AuditEntry",
    "Claim",
    "ConsentGrant",
    "ConsentWithdrawal",
    "Delivery",
    "Directory",
    "Ending",
    "Erase",
    "Fact",
    "Holding",
    "Input",
    "Kind",
    "Outcome",
    "Permission",
    "Profile",
    "Reason",
    "Reevaluate",
    "Refusal",
    "Request",
    "ResidentState",
    "Retraction",
    "Role",
    "SubscriptionChange",
    "Verdict",
    "Withheld",
    "active_grant",
    "apply",
    "apply_all",
    "best_claim",
    "consented",
    "decide",
    "decide_all",
    "erase",
    "fold",
    "fold_all",
    "gate",
    "join",
    "level_rank",
    "next_expiry",
    "permitted",
    "rejection",
    "subscription_rejection",
    "view",
]
