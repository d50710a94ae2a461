"""The parent handout: what the lump on the child's skin is, what to expect with this child's own
dates, how to care for it and when to come back sooner, in plain words (reading age about 11).

Offered only for the benign entities written here, with a plan of watching and waiting, and
never when anything about the assessment is urgent: then the clinical summary is the only
printout. Every fact comes from the clinical knowledge base (KNOWLEDGE.md, entity cards 3.1–3.5
and the red-flag list); the resolution windows come from ``engine.knowledge.ENTITIES`` so the
handout's dates are the same as the clinician's.

Pure data and functions of plain values (dates, codes, the stored engine output): testable
without a database or a template. ``handout_for`` reads them off a stored assessment.

Signs of a high blood calcium (thirst, passing much more urine, vomiting, tiredness) are not
listed: the knowledge base ties them to fat necrosis of the newborn, which has no handout; the
entities here have normal blood calcium.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from .clinical import date_at_age
from .engine.knowledge import ENTITIES

FOOT_SITES = frozenset({"heel", "sole", "toe", "foot_dorsum"})


@dataclass(frozen=True)
class ParentText:
    """One entity in plain words. Sentences speak of one lump; the handout says first when the
    child has several. Short sentences; no medical words (tests/unit/test_handout.py)."""

    title: str
    what: tuple[str, ...]
    serious: tuple[str, ...]
    # How it changes and how long it lasts, before the dated sentence (when there is a window).
    course: tuple[str, ...]
    # A window measured from when the lump appeared, in words, for when its date is unknown.
    onset_words: str = ""
    care: tuple[str, ...] = ()
    sooner: tuple[str, ...] = ()
    # Signs for the emergency department today, beyond the ones every handout lists.
    emergency: tuple[str, ...] = ()
    # How long it lasts, in place of NO_WINDOW, when the knowledge base gives no dated window.
    how_long: str = ""
    # Redness and swelling are part of the expected course (extravasation): the call-us list
    # then asks about a change since this visit instead of redness or swelling as such.
    red_at_first: bool = False
    # New lumps are part of the condition (MICC), not a warning sign.
    new_lumps_expected: bool = False


HARMLESS = ("It is harmless.", "It is not cancer and it is not an infection.")

TEXTS: dict[str, ParentText] = {
    # KNOWLEDGE 3.1: appears at 4–12 months where the heel was pricked, moves to the surface and
    # lets out chalky material, usually gone by 18–30 months; some are tender in shoes.
    "calcified_heel_stick_nodule": ParentText(
        title="A small calcium lump on the heel after heel-prick blood tests",
        what=("It is a small, hard, white or yellow lump of calcium in the skin of the heel.",
              "It forms where the heel was pricked for blood tests when your child was a newborn."),
        serious=(*HARMLESS,
                 "Most children do not feel it. Some lumps are sore when a shoe presses on them."),
        course=("The lump slowly moves up to the surface of the skin.",
                "A little white, chalky material may come out. This is normal."),
    ),
    # KNOWLEDGE 3.2: calcium leaked from the drip (even unseen), red and swollen at first, later
    # white-yellow chalky crust; gone in 3 weeks to 6 months without lasting harm; often taken
    # for an infection. Pain relief and wound care.
    "calcium_extravasation_calcinosis": ParentText(
        title="A calcium lump in the skin near where a drip was",
        what=("Your child was given calcium through a drip (a thin tube into a vein).",
              "Some of it leaked out of the vein into the skin nearby. This can happen even when "
              "nobody saw it leak.",
              "The calcium made a hard lump in the skin."),
        serious=("In most children it goes away with no lasting harm.",
                 "It is not cancer. It is not an infection, but at first it can look red and "
                 "swollen like one."),
        course=("The skin may look red and swollen at first.",
                "Later it may turn white or yellow, and chalky bits may come to the surface."),
        onset_words="3 weeks to 6 months after it first appeared",
        care=("If it is sore, you can give the pain medicine your doctor suggested.",),
        emergency=("The skin over it turns dark or black.",
                   "The arm or leg with the lump looks pale, blue or cold, or your child will "
                   "not move it."),
        red_at_first=True,
    ),
    # KNOWLEDGE 3.4: tiny firm white bumps, cause unknown, fade over months (6 to 21 months,
    # some by adulthood); avoid needless procedures.
    "milia_like_idiopathic_calcinosis_cutis": ParentText(
        title="Tiny calcium bumps in the skin",
        what=("It is a tiny, firm, white bump. It is a small spot of calcium in the skin.",
              "Doctors do not know exactly why it forms."),
        serious=HARMLESS,
        course=("It usually needs no treatment.",),
        # KNOWLEDGE 3.4: about 6 months [V R18], about 21 months [V R21], or by adulthood.
        how_long="It often fades over 6 months to 2 years; sometimes it lasts longer. We will "
                 "check it at each visit.",
        new_lumps_expected=True,
    ),
    # KNOWLEDGE 3.5: small firm yellow-white lump, mostly noticed in the first 2 years, may
    # bleed or open; no known time to fade; watch, or remove it if it bothers the child.
    "subepidermal_calcified_nodule": ParentText(
        title="A small calcium lump in the skin",
        what=("It is a small, firm, white or yellow lump. It is a spot of calcium just under "
              "the top layer of the skin.",
              "Doctors do not know exactly why it forms."),
        serious=HARMLESS,
        course=("It may stay the same for a long time.",
                "If it bothers your child, it can be taken out with a small operation."),
        sooner=("It bleeds.",),
    ),
    # KNOWLEDGE 3.3 (not verified against a source, shown to clinicians as such): calcium in
    # the paste of test electrodes; small firm white spots; clear through the skin.
    "electrode_paste_calcinosis": ParentText(
        title="Small calcium spots where test wires were stuck on",
        what=("Some tests of the brain, nerves, muscles or hearing use wires stuck to the skin "
              "with a paste.",
              "Some of these pastes contain calcium. A little went into the skin and made a "
              "small, firm, white spot."),
        serious=HARMLESS,
        course=("It usually clears by itself. The calcium slowly comes out through the skin.",),
    ),
    # KNOWLEDGE table 1 and 7: calcium settles in skin that was hurt; normal blood calcium;
    # watch, or remove it if it hurts.
    "dystrophic_calcinosis_post_traumatic": ParentText(
        title="A calcium lump where the skin was hurt before",
        what=("When skin has been hurt, calcium can settle in the healed skin.",
              "This made a firm lump in the skin."),
        serious=HARMLESS,
        course=("It may stay for a long time.",
                "If it hurts or gets in the way, it can be taken out."),
    ),
    # KNOWLEDGE table 1 (idiopathic): no cause found; may stay or slowly come out through the
    # skin; remove it if it bothers the child.
    "idiopathic_calcinosis_cutis": ParentText(
        title="A calcium lump in the skin",
        what=("It is a firm lump of calcium in the skin.",
              "Doctors do not know exactly why it forms."),
        serious=HARMLESS,
        course=("It may stay as it is, or slowly come out through the skin.",
                "If it bothers your child, it can be taken out with a small operation."),
    ),
}
HANDOUT_ENTITIES = tuple(TEXTS)

CARE = ("Do not squeeze, pick or scratch it.",
        "Keep the skin clean with mild soap and water, and pat it dry.")
FOOT_CARE = "Choose shoes and socks that do not rub on it."
# KNOWLEDGE 3.1 and 3.2 red flags and the master list (section 5), in parents' words, in two
# lists by urgency: a febrile young infant or spreading redness is not "come back sooner".
EMERGENCY = ("The redness spreads quickly, or your child has a fever and seems unwell.",)
# Fever under 3 months needs a septic screen the same day (section 5, [V R10]).
YOUNG_INFANT_FEVER = "Your baby is under 3 months old and has a temperature of 38 °C or more."
SOONER = ("The skin around it turns red, or it feels warm or looks swollen.",
          "There is pus (yellow or green liquid) or a bad smell.",
          "It opens into a sore.",
          "It grows fast.")
CHANGED_SINCE_VISIT = ("The redness or swelling gets bigger than it was at this visit, or the "
                       "lump becomes hot.")
NEW_LUMPS = "New lumps appear."
FOOT_PAIN = "It hurts, or your child limps or will not stand on that foot."
PAIN = "It hurts."
# A baby cannot say it hurts or limp (under 12 months).
BABY_FOOT_PAIN = "Your baby cries when it is touched or pressed, or pulls that foot away."
BABY_PAIN = "Your baby cries when it is touched or pressed."
NO_WINDOW = "We cannot say how long it will last. We will check it at each visit."
URGENT_NOTICE = ("A parent handout is not offered for this assessment: it is urgent, and the "
                 "clinical summary is the only printout.")
NOT_BENIGN_NOTICE = "A parent handout is not offered: there is no handout for this diagnosis."
PLAN_NOTICE = ("A parent handout is not offered: the handout is written for a plan of watching "
               "and waiting, and this plan is to {plan}. Explain it in person.")
FLAG_NOTICE = ("A parent handout is not offered yet: a red flag stands ({flag}). Record your "
               "decision on this assessment first, once the flag has been dealt with (for "
               "example, infection excluded).")
ATYPICAL_NOTICE = ("A parent handout is not offered: the lesion is not following its expected "
                   "course.")
RESOLVED_NOTICE = "A parent handout is not offered: the lesion has resolved."
SUPERSEDED_NOTICE = ("A parent handout is not offered from this assessment: a later one of this "
                     "lesion exists, and the handout is printed from the latest.")
PLAN_WORDS = {"treat": "treat", "refer": "refer"}


@dataclass(frozen=True)
class Offer:
    """Whether a handout is offered for an assessment, and for which entity (the clinician's
    when their decision overrides the engine). ``notice`` says why not, for the clinician."""

    offered: bool
    entity: str | None = None
    notice: str = ""
    urgent: bool = False

    def __bool__(self) -> bool:
        return self.offered


def handout_offered(output: dict[str, Any], decision: Any | None, *,
                    atypical_course: bool = False, resolved: bool = False,
                    superseded: bool = False) -> Offer:
    """``output``: the stored engine output; ``decision``: the latest clinician decision (with
    ``decision``, ``final_entity``, ``final_management``) or None.

    Urgent anywhere (an urgent red flag, the engine's management or the clinician's) refuses the
    handout even when the clinician overrode it: a parent leaflet that says "harmless" must never
    leave the clinic with an urgent child. A refer from the engine that the clinician overrode to
    watchful waiting (a recorded reason) does not refuse it: their judgement prevails.
    """
    engine_management = output["management"]["category"]
    overridden = decision is not None and decision.decision == "override"
    entity = decision.final_entity if overridden else output["leading_entity"]["code"]
    management = decision.final_management if decision is not None else engine_management
    urgent_flag = any(flag["action"] == "urgent" for flag in output.get("red_flags", []))
    if urgent_flag or "urgent" in (engine_management, management):
        return Offer(False, notice=URGENT_NOTICE, urgent=True)
    if entity not in TEXTS:
        return Offer(False, notice=NOT_BENIGN_NOTICE)
    if management != "watchful_waiting":
        return Offer(False, notice=PLAN_NOTICE.format(plan=PLAN_WORDS.get(management,
                                                                          management)))
    if resolved:
        return Offer(False, notice=RESOLVED_NOTICE)
    if superseded:
        # Its next-visit date and expectations are no longer the current ones.
        return Offer(False, notice=SUPERSEDED_NOTICE)
    if atypical_course and not overridden:
        return Offer(False, notice=ATYPICAL_NOTICE)
    flags = output.get("red_flags", [])
    if flags and decision is None:
        # "It is not an infection" must not go home while the engine still asks to exclude
        # one: a red flag (refer or review) needs the clinician's recorded decision first.
        return Offer(False, notice=FLAG_NOTICE.format(flag=_lower_first(flags[0]["message"])))
    return Offer(True, entity=entity)


def _lower_first(text: str) -> str:
    text = text.rstrip(".")
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def long_date(day: date) -> str:
    """"Tuesday 16 February 2027": the weekday helps a parent put it in a diary."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def month_year(day: date) -> str:
    return f"{day:%B %Y}"


def _months(value: float) -> str:
    return f"{value:g}"


def expected_dates(entity_code: str, *, born: date, visit: date,
                   onset: date | None) -> dict[str, Any] | None:
    """When this child's lump is expected to go: ``{"from", "to", "sentence"}`` or None when
    the knowledge base gives no window, the window's start is unknown (no onset date for a
    window measured from onset) or the window has already passed."""
    entity = ENTITIES[entity_code]
    if entity.window is None:
        return None
    low, high = entity.window
    if entity.window_kind == "absolute":
        start, end = date_at_age(born, low), date_at_age(born, high)
        when = f"when your child is {_months(low)} to {_months(high)} months old"
        by_when = f"by the time your child is {_months(high)} months old"
    else:
        if onset is None:
            return None
        # Counted from the day it appeared the way ages are counted from birth.
        start, end = date_at_age(onset, low), date_at_age(onset, high)
        when = by_when = TEXTS[entity_code].onset_words
    if end < visit:
        return None
    if start <= visit:
        sentence = f"It usually goes away on its own by {month_year(end)} ({by_when})."
    else:
        sentence = (f"It usually goes away on its own between {month_year(start)} and "
                    f"{month_year(end)} ({when}).")
    return {"from": start, "to": end, "sentence": sentence}


def onset_date(*, born: date, visit: date, onset_age_months: float | None,
               duration_weeks: float | None) -> date | None:
    """When the lump first appeared: the age it was noticed at, else the visit date less how
    long it has been there."""
    if onset_age_months is not None:
        return date_at_age(born, float(onset_age_months))
    if duration_weeks is not None:
        return visit - timedelta(weeks=float(duration_weeks))
    return None


def build_handout(entity_code: str, *, born: date, visit: date, count: int = 1,
                  site: str = "", onset: date | None = None,
                  next_visit: date | None = None) -> dict[str, Any]:
    """The handout's sections, in the order a parent reads them."""
    text = TEXTS[entity_code]
    on_foot = site in FOOT_SITES
    baby = visit < date_at_age(born, 12)
    expect = list(text.course)
    dates = expected_dates(entity_code, born=born, visit=visit, onset=onset)
    if dates is not None:
        expect.append(dates["sentence"])
    elif text.onset_words and onset is None:
        # The window is known but not when it started: the window without dates.
        expect.append(f"It usually goes away on its own {text.onset_words}.")
    else:
        expect.append(text.how_long or NO_WINDOW)
    intro = (f"Your child has {count} of these lumps. What follows is true for each of them."
             if count > 1 else "")
    care = [*CARE, *([FOOT_CARE] if on_foot else []), *text.care]
    emergency = [*([YOUNG_INFANT_FEVER] if visit < date_at_age(born, 3) else []),
                 *EMERGENCY, *text.emergency]
    pain = (BABY_FOOT_PAIN if on_foot else BABY_PAIN) if baby else (
        FOOT_PAIN if on_foot else PAIN)
    sooner = [*([CHANGED_SINCE_VISIT] if text.red_at_first else [SOONER[0]]), *SOONER[1:],
              *([] if text.new_lumps_expected else [NEW_LUMPS]), pain, *text.sooner]
    return {
        "entity": entity_code,
        "title": text.title,
        "intro": intro,
        "what": list(text.what),
        "serious": list(text.serious),
        "expect": expect,
        "dates": dates,
        "next_visit": long_date(next_visit) if next_visit else "",
        "care": care,
        "emergency": emergency,
        "sooner": sooner,
        # For another doctor reading the sheet: the name without its abbreviations.
        "medical_name": ENTITIES[entity_code].label.split(" (")[0],
    }


def offer_for(assessment: Any) -> Offer:
    """The offer for a stored assessment (read through the permission-checked selector, its
    decisions prefetched, latest first)."""
    decisions = list(assessment.decisions.all())
    observation = assessment.observation
    # The assessment page's lookup already says both (selectors._assessment_lookup:
    # newest_pk, later_visit); other callers ask here.
    newest = getattr(assessment, "newest_pk", None)
    if newest is None:
        newest = observation.assessments.order_by("-created_at", "-id").values_list(
            "pk", flat=True).first()
    later = getattr(assessment, "later_visit", None)
    if later is None:
        later = observation.lesion.observations.filter(
            encounter__date__gt=observation.encounter.date).exists()
    superseded = newest != assessment.pk or bool(later)
    return handout_offered(assessment.output_json, decisions[0] if decisions else None,
                           atypical_course=assessment.atypical_course,
                           resolved=observation.course_status == "resolved",
                           superseded=superseded)


def handout_for(assessment: Any) -> tuple[Offer, dict[str, Any] | None]:
    """The offer and, when offered, the handout of a stored assessment."""
    offer = offer_for(assessment)
    observation = assessment.observation
    if not offer:
        return offer, None
    encounter = observation.encounter
    born = encounter.patient.date_of_birth
    onset = onset_date(born=born, visit=encounter.date,
                       onset_age_months=observation.onset_age_months,
                       duration_weeks=observation.duration_weeks)
    return offer, build_handout(
        offer.entity, born=born, visit=encounter.date, count=observation.count,
        site=observation.lesion.site, onset=onset, next_visit=assessment.follow_up_due)
