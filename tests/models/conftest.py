from __future__ import annotations

import pytest

from steward.datasets import load_adult


@pytest.fixture(scope="session")
def adult_sample():
    """3,000 rows of UCI Adult (text columns as read from CSV) and the 0/1 label income > 50K."""
    df = load_adult(dropna=True).sample(3000, random_state=0).reset_index(drop=True)
    return df, (df["income"] == ">50K").astype(int).to_numpy()
