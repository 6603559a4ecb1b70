"Shared test plumbing: the fault-injection tally that `test_faults.py` fills and the summary line it prints."
import pytest

FAULTS: list[dict] = []


@pytest.fixture
def fault(request):
    "One injected fault: the test sets `fault['survived'] = True` once everything it checks held (and `lost` if work was lost)."
    f = dict(name=request.node.name, survived=False, lost=0)
    yield f
    FAULTS.append(f)


def pytest_terminal_summary(terminalreporter):
    if not FAULTS: return
    ok, lost = sum(f["survived"] for f in FAULTS), sum(f["lost"] for f in FAULTS)
    terminalreporter.write_line(f"fault injection: {len(FAULTS)} faults tried, {ok} survived, "
                                f"{lost} finished epochs or notebook results lost")
