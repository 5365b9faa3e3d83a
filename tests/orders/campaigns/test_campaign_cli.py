from sqlalchemy import select

from coop.extensions import db
from coop.orders.campaigns.models import Campaign, CampaignStatus


def campaign(code):
    db.session.expire_all()
    return db.session.scalar(select(Campaign).where(Campaign.code == code))


def test_campaign_commands_follow_the_spec(runner):
    created = runner.invoke(
        args=[
            "campaign",
            "create",
            "2026-12",
            "--title",
            "Décembre",
            "--order-date",
            "2099-12-10",
            "--closes-at",
            "2099-12-05 18:00",
            "--fee-rate",
            "0,02",
            "--penalty",
            "asia=0.15",
            "--draft",
        ]
    )
    assert created.exit_code == 0, created.output
    c = campaign("2026-12")
    assert (c.status, str(c.fee_rate), str(c.penalty_asia)) == ("draft", "0.0200", "0.1500")
    assert c.closes_at.hour == 17  # 18:00 in Lyon in winter
    assert runner.invoke(args=["campaign", "open", "2026-12"]).exit_code == 0
    assert campaign("2026-12").status is CampaignStatus.OPEN
    assert runner.invoke(args=["campaign", "close", "2026-12"]).exit_code == 0
    assert campaign("2026-12").status is CampaignStatus.CLOSED
    assert "Nothing due." in runner.invoke(args=["campaign", "close-due"]).output


def test_campaign_commands_refuse_bad_input_in_one_line(runner):
    bad_penalty = runner.invoke(
        args=[
            "campaign",
            "create",
            "X",
            "--title",
            "X",
            "--order-date",
            "2099-12-10",
            "--penalty",
            "mars=0.1",
        ]
    )
    assert bad_penalty.exit_code == 2
    assert "CLASS one of local, france, europe, asia, other" in bad_penalty.output
    bad_date = runner.invoke(
        args=[
            "campaign",
            "create",
            "X",
            "--title",
            "X",
            "--order-date",
            "2099-12-10",
            "--closes-at",
            "tomorrow",
        ]
    )
    assert bad_date.exit_code == 2
    assert campaign("X") is None
    assert runner.invoke(args=["campaign", "close", "NOPE"]).exit_code == 1
    runner.invoke(
        args=["campaign", "create", "Y", "--title", "Y", "--order-date", "2099-12-10", "--draft"]
    )
    refused = runner.invoke(args=["campaign", "close", "Y"])
    assert refused.exit_code == 1
    assert "brouillon" in refused.output
