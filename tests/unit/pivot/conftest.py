from tests.support.failpoints import no_failpoint_actions

__all__ = ["no_failpoint_actions"]
