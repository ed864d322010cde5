import pytest

from calmline.analysis import Turn
from calmline.events import Finding
from tests.clinical.helpers import check, of_type, run

# (text, level or None, assertion, experiencer, tier)
SUICIDE = [
    # present, direct and indirect
    (
        "sometimes I wish I could just go to sleep and not wake up",
        "wish_to_be_dead",
        "present",
        "caller",
        "low",
    ),
    ("I don't want to wake up", "wish_to_be_dead", "present", "caller", "low"),
    ("sometimes I wish I just wouldn't wake up", "wish_to_be_dead", "present", "caller", "low"),
    ("I just want it all to stop", "wish_to_be_dead", "present", "caller", "low"),
    ("everyone would be better off without me", "wish_to_be_dead", "present", "caller", "low"),
    ("I won't be a burden much longer", "intent", "present", "caller", "high"),
    ("um i i want to to die", "suicidal_thoughts", "present", "caller", "moderate"),
    ("im gonna kill myself", "intent", "present", "caller", "high"),
    ("I've been giving my things away", "behavior", "present", "caller", "high"),
    ("I've been stockpiling my meds", "behavior", "present", "caller", "high"),
    ("how many tylenol would it take to die", "method", "present", "caller", "moderate"),
    (
        "I have a bottle of pills in front of me and I'm going to take them all tonight",
        "plan",
        "present",
        "caller",
        "imminent",
    ),
    ("I've taken all my pills", "behavior", "present", "caller", "imminent"),
    ("I want to die and I have a gun right here", "method", "present", "caller", "high"),
    ("if this doesn't work I'll end it", "intent", "present", "caller", "high"),
    # paraphrases, slang, informal and ASR-style forms
    ("i dont see the point anymore", "wish_to_be_dead", "present", "caller", "low"),
    ("What's the point of carrying on.", "wish_to_be_dead", "present", "caller", "low"),
    ("i have no reason to live", "wish_to_be_dead", "present", "caller", "low"),
    ("nothing left to live for", "wish_to_be_dead", "present", "caller", "low"),
    ("i cant go on like this", "wish_to_be_dead", "present", "caller", "low"),
    ("I'd be better off dead", "wish_to_be_dead", "present", "caller", "low"),
    ("it'd be easier for everyone if i wasnt around", "wish_to_be_dead", "present", "caller", "low"),
    ("I wish I'd never woken up after the operation.", "wish_to_be_dead", "present", "caller", "low"),
    (
        "If this pain doesn't stop soon I'd honestly rather be dead.",
        "wish_to_be_dead",
        "present",
        "caller",
        "low",
    ),
    ("i just wanna disappear forever", "wish_to_be_dead", "present", "caller", "low"),
    ("i dont want to be here anymore", "wish_to_be_dead", "present", "caller", "low"),
    ("i want to kms", "suicidal_thoughts", "present", "caller", "moderate"),
    ("kms", "suicidal_thoughts", "present", "caller", "moderate"),
    ("i want to unalive myself", "suicidal_thoughts", "present", "caller", "moderate"),
    ("i wanna kill my self", "suicidal_thoughts", "present", "caller", "moderate"),
    ("i want to end it", "suicidal_thoughts", "present", "caller", "moderate"),
    ("i'm done i'm checking out for good", "suicidal_thoughts", "present", "caller", "moderate"),
    ("so suicidal rn", "suicidal_thoughts", "present", "caller", "moderate"),
    ("i want to take my own life", "suicidal_thoughts", "present", "caller", "moderate"),
    ("i want to hang myself", "method", "present", "caller", "moderate"),
    ("i want to jump off a bridge", "method", "present", "caller", "moderate"),
    ("i want to od", "method", "present", "caller", "moderate"),
    ("Sometimes I think about just driving into a wall.", "method", "uncertain", "caller", "moderate"),
    (
        "i've been thinking of ways to go that wouldnt hurt my family",
        "method",
        "present",
        "caller",
        "moderate",
    ),
    ("i googled lethal doses", "method", "present", "caller", "moderate"),
    ("I don't think I'll be here by Christmas.", "intent", "present", "caller", "high"),
    ("you won't have to worry about me much longer", "intent", "present", "caller", "high"),
    ("If I get sacked on Monday, that's it, I'm done with life.", "intent", "present", "caller", "high"),
    ("if they dont call me back today i'll kill myself i mean it", "intent", "present", "caller", "high"),
    (
        "I want to die. I'm going to do it, I just haven't decided when.",
        "intent",
        "present",
        "caller",
        "high",
    ),
    (
        "im gonna hang myself this weekend the rope's already up in the loft",
        "plan",
        "present",
        "caller",
        "high",
    ),
    ("I'm going to jump off the multi-storey after this call.", "plan", "present", "caller", "imminent"),
    ("I'm going to overdose tonight", "plan", "present", "caller", "imminent"),
    (
        "i took like a whole packet of my nan's tablets like twenty minutes ago",
        "behavior",
        "present",
        "caller",
        "imminent",
    ),
    ("I took an overdose last Tuesday", "behavior", "present", "caller", "high"),
    ("I'm standing on the bridge right now", "behavior", "present", "caller", "imminent"),
    ("the gun's in my lap", "behavior", "present", "caller", "imminent"),
    ("I've said my goodbyes.", "behavior", "present", "caller", "high"),
    ("I've put my affairs in order", "behavior", "present", "caller", "high"),
    # negated
    ("I'm not suicidal", "suicidal_thoughts", "negated", "caller", "low"),
    ("I would never kill myself", "suicidal_thoughts", "negated", "caller", "low"),
    ("I don't want to die", "suicidal_thoughts", "negated", "caller", "low"),
    ("no im not suicidal im just exhausted", "suicidal_thoughts", "negated", "caller", "low"),
    ("Don't worry, I'm not going to do anything silly.", "intent", "negated", "caller", "low"),
    # historical
    ("I tried to kill myself last year", "behavior", "historical", "caller", "low"),
    ("years ago I used to want to die", "suicidal_thoughts", "historical", "caller", "low"),
    (
        "When I was a teenager I used to think about killing myself all the time.",
        "suicidal_thoughts",
        "historical",
        "caller",
        "low",
    ),
    # hypothetical
    ("what if I just took all the pills", "behavior", "hypothetical", "caller", "low"),
    ("what if i wanted to kill myself", "suicidal_thoughts", "hypothetical", "caller", "low"),
    # third person
    ("my daughter said she wants to die", "suicidal_thoughts", "present", "other", "moderate"),
    ("my friend wants to kill himself", "suicidal_thoughts", "present", "other", "moderate"),
    ("my grandson said if his girlfriend leaves him he'll end it", "intent", "present", "other", "high"),
    ("he keeps threatening to kill himself", "intent", "present", "other", "high"),
    (
        "My mother has taken all her tablets and she's not making sense.",
        "behavior",
        "present",
        "other",
        "imminent",
    ),
    ("my mum keeps saying she wishes she was dead", "wish_to_be_dead", "present", "other", "low"),
    # paraphrases and third-person morphology (generalised from a fresh probe list, not the eval set)
    ("she told me she doesn't want to be here anymore", "wish_to_be_dead", "present", "other", "low"),
    ("idk why im still alive", "wish_to_be_dead", "present", "caller", "low"),
    ("i feel like i'm just a burden to everyone", "wish_to_be_dead", "present", "caller", "low"),
    ("i dont want to carry on living", "wish_to_be_dead", "present", "caller", "low"),
    ("death sounds peaceful", "wish_to_be_dead", "present", "caller", "low"),
    ("I've been having some really dark thoughts", "wish_to_be_dead", "present", "caller", "low"),
    ("I don't think I can keep myself safe tonight", "suicidal_thoughts", "present", "caller", "moderate"),
    ("he said he'd kill himself if she left", "suicidal_thoughts", "present", "other", "moderate"),
    ("he's been searching online for ways to end his life", "method", "present", "other", "moderate"),
    ("I've made up my mind to end it", "intent", "present", "caller", "high"),
    ("im so done with life", "intent", "present", "caller", "high"),
    ("my friend is planning to kill herself", "plan", "present", "other", "high"),
    ("my sister overdosed last night", "behavior", "present", "other", "high"),
    ("I've taken a lot more of my tablets than I should have", "behavior", "present", "caller", "high"),
    ("I'm not having any dark thoughts", "wish_to_be_dead", "negated", "caller", "low"),
    ("When I was younger I wished I'd never been born", "wish_to_be_dead", "historical", "caller", "low"),
    ("what if I'm just a burden to everyone", "wish_to_be_dead", "hypothetical", "caller", "low"),
    # indirect and informal posts (issue 3; generalised from the dev half of eval/sets/informal_posts.jsonl)
    ("i'd be doing everyone a favour by not being around", "wish_to_be_dead", "present", "caller", "low"),
    ("honestly if i died tomorrow i wouldn't mind", "wish_to_be_dead", "present", "caller", "low"),
    ("cant wait to not exist", "wish_to_be_dead", "present", "caller", "low"),
    ("I can't do it anymore", "wish_to_be_dead", "present", "caller", "low"),
    ("i want to go to sleep and not come back", "wish_to_be_dead", "present", "caller", "low"),
    (
        "suicide is starting to feel like the only option",
        "suicidal_thoughts",
        "present",
        "caller",
        "moderate",
    ),
    ("I know exactly which bridge I would use", "method", "present", "caller", "moderate"),
    ("I wrote my note last night", "behavior", "present", "caller", "high"),
    ("i'm standing on the roof right now", "behavior", "present", "caller", "imminent"),
    ("soon none of this will matter because I won't be here", "intent", "present", "caller", "high"),
    # conditional threats stay present, also after an "if ... again" clause and with "you" in the condition
    ("if I lose my job again I'm going to kill myself", "intent", "present", "caller", "high"),
    ("if you hang up on me I'll kill myself", "intent", "present", "caller", "high"),
    ("do you think I should just kill myself", "suicidal_thoughts", "present", "caller", "moderate"),
    # rejected, advice and generic mentions: not a risk happening now
    ("suicide is not the answer", "suicidal_thoughts", "negated", "caller", "low"),
    ("killing myself wouldn't solve anything", "suicidal_thoughts", "negated", "caller", "low"),
    (
        "if you're feeling suicidal please call a helpline",
        "suicidal_thoughts",
        "hypothetical",
        "caller",
        "low",
    ),
    ("why do you want to die", "suicidal_thoughts", "hypothetical", "caller", "low"),
    (
        "to anyone struggling with suicidal thoughts it gets better",
        "suicidal_thoughts",
        "hypothetical",
        "caller",
        "low",
    ),
    ("people who attempt suicide often feel alone", "behavior", "hypothetical", "caller", "low"),
    # hypothetical with the caller as the if-clause's own subject
    ("if i ever took an overdose what would happen", "method", "hypothetical", "caller", "low"),
    (
        "if I wanted to kill myself how many would I need",
        "suicidal_thoughts",
        "hypothetical",
        "caller",
        "low",
    ),
    ("what should I do if I feel suicidal again", "suicidal_thoughts", "hypothetical", "caller", "low"),
    # historical and third person forms of the new patterns
    (
        "years ago I used to think suicide was the only way out",
        "suicidal_thoughts",
        "historical",
        "caller",
        "low",
    ),
    (
        "my sister says suicide feels like the only way out",
        "suicidal_thoughts",
        "present",
        "other",
        "moderate",
    ),
    # informal posts, second pass (issue 3): constructions generalised from the dev half of
    # eval/sets/informal_posts.jsonl, never from eval/sets/informal_posts_blind2.jsonl
    ("i wanna vanish forever and never come back", "wish_to_be_dead", "present", "caller", "low"),
    ("tired of even existing", "wish_to_be_dead", "present", "caller", "low"),
    ("theres literally no reason for me to keep going", "wish_to_be_dead", "present", "caller", "low"),
    ("sooooo done with living tbh", "wish_to_be_dead", "present", "caller", "low"),
    ("nobody would even care if i died tomorrow", "wish_to_be_dead", "present", "caller", "low"),
    ("ngl i want to end everything", "suicidal_thoughts", "present", "caller", "moderate"),
    ("i just want to die so bad rn", "suicidal_thoughts", "present", "caller", "moderate"),
    ("thinking about ctb again", "suicidal_thoughts", "present", "caller", "moderate"),
    ("i wont be here tomorrow so goodbye", "intent", "present", "caller", "high"),
    ("this is my last night on earth", "intent", "present", "caller", "high"),
    ("goodbye everyone thank you for everything", "intent", "present", "caller", "high"),
    ("ive picked a date", "plan", "present", "caller", "high"),
    ("i know how and when", "plan", "present", "caller", "high"),
    ("wrote a letter for my mum to find after im gone", "behavior", "present", "caller", "high"),
    ("i know exactly what its for and the rope is in the shed", "plan", "present", "caller", "high"),
    ("im not going to end everything i just need a break", "wish_to_be_dead", "negated", "caller", "low"),
    (
        "i used to want to vanish forever but im in a good place now",
        "wish_to_be_dead",
        "historical",
        "caller",
        "low",
    ),
    ("what if nobody would care if i died", "wish_to_be_dead", "hypothetical", "caller", "low"),
    ("my brother says hes tired of existing", "wish_to_be_dead", "present", "other", "low"),
    ("goodbye everyone at work see you monday", None, "", "", ""),
    ("ive picked a date for the party", None, "", "", ""),
    ("im going to die if i eat another slice", None, "", "", ""),
    ("i could die for a pizza rn", None, "", "", ""),
    ("i want to end it with my landlord", None, "", "", ""),
    # hard negatives
    ("i want to die of embarrassment after that meeting", None, "", "", ""),
    ("this is the best way to go about it", None, "", "", ""),
    ("i wrote my notes for the exam", None, "", "", ""),
    ("I'm sitting on the edge of the bed", None, "", "", ""),
    ("it's time for me to go, thanks for your help", None, "", "", ""),
    ("I want to take my own life back into my hands", None, "", "", ""),
    ("I'm done with everything on my list today", None, "", "", ""),
    ("why am I still here on hold", None, "", "", ""),
    ("I can't see any way forward with this complaint", None, "", "", ""),
    ("my car is running in the garage", None, "", "", ""),
    ("this wait is killing me", None, "", "", ""),
    ("I'm dying to know", None, "", "", ""),
    ("my phone died", None, "", "", ""),
    ("I could kill for a coffee", None, "", "", ""),
    ("shoot, I forgot", None, "", "", ""),
    ("I have my pills right here", None, "", "", ""),
    ("I'm going to take them all tonight", None, "", "", ""),
    ("is there a suicide prevention hotline number", None, "", "", ""),
    ("shoot me an email", None, "", "", ""),
    ("I'm dead tired", None, "", "", ""),
    ("kill the lights", None, "", "", ""),
    ("my feet are killing me", None, "", "", ""),
    ("I'd rather die than sit on hold again", None, "", "", ""),
    ("I'm killing myself trying to get this sorted", None, "", "", ""),
    ("I took all my tablets this morning as usual", None, "", "", ""),
    ("has she taken all her tablets today", None, "", "", ""),
    ("I've taken two paracetamol for the headache", None, "", "", ""),
    ("I've picked a date for the wedding", None, "", "", ""),
    ("I wrote a note to the GP", None, "", "", ""),
    ("I bought a rope for the boat", None, "", "", ""),
    ("I want to end it with my boyfriend", None, "", "", ""),
    ("I'm going to jump in the shower", None, "", "", ""),
    ("I'm done with the council", None, "", "", ""),
    ("I don't want to live in London anymore", None, "", "", ""),
    ("I won't be here tomorrow", None, "", "", ""),
    ("there's only one way out of the building", None, "", "", ""),
    ("I just want to disappear under the duvet", None, "", "", ""),
    ("I'm on the bridge, the traffic is terrible", None, "", "", ""),
    ("how many paracetamol can I take in a day", None, "", "", ""),
    ("suicide rates are rising", None, "", "", ""),
]


#: Rows of the table with no suicide content (or too ambiguous alone) where the learned head's low "flag"
#: operating point *without the cue gate* (``cue_gate=False``, the D13 flag) adds an ``uncertain`` low-tier
#: finding (rule_id learned-flag): no alert, no protocol, a prompt for the agent to ask directly. Listed so
#: that any change is seen; they are false flags of the head at that point (except the ambiguous means/plan
#: statements, where asking directly is right).
LEARNED_FLAGS = frozenset(
    {
        "I'm dying to know",
        "I have my pills right here",
        "I'm going to take them all tonight",
        "I'm killing myself trying to get this sorted",
        "I wrote a note to the GP",
        "I bought a rope for the boat",
        "I'm going to jump in the shower",
        "I don't want to live in London anymore",
        "I won't be here tomorrow",
        "I just want to disappear under the duvet",
    }
)
#: The ones the shipped, cue-gated flag still marks (a means word is a cue): uncertain, low tier, no alert.
CUED_FLAGS = frozenset({"I have my pills right here", "I bought a rope for the boat"})


def _not_flag(found: list[Finding]) -> list[Finding]:
    """Suicide findings other than the learned flag (which must be uncertain, low tier, about the caller)."""
    for f in found:
        if f.rule_id == "learned-flag":
            assert (f.assertion, f.tier, f.experiencer, f.analyzer) == (
                "uncertain",
                "low",
                "caller",
                "suicide_learned",
            )
    return [f for f in found if f.rule_id != "learned-flag"]


@pytest.mark.parametrize(("text", "level", "assertion", "experiencer", "tier"), SUICIDE)
def test_suicide_table(text: str, level: str | None, assertion: str, experiencer: str, tier: str) -> None:
    found = of_type(text, "suicide_risk")
    if level is None:
        # The shipped registry runs the learned flag behind the ideation-cue gate: only the listed
        # means-word lines draw it among the hard negatives.
        assert bool([f for f in found if f.rule_id == "learned-flag"]) == (text in CUED_FLAGS), text
        found = _not_flag(found)
    f = check(found, level, assertion, experiencer)
    if f is not None:
        assert f.tier == tier


def test_the_ungated_learned_flag_marks_these_hard_negatives() -> None:
    """Why the flag needs a cue: without it, on call-style speech it marks everyday lines as possible risk."""
    from calmline.analysis.base import AnalysisContext
    from calmline.analysis.learned_risk import LearnedRiskAnalyzer

    analyzer = LearnedRiskAnalyzer(flag=True, cue_gate=False)
    flagged = {t for t in LEARNED_FLAGS if _flagged(analyzer.analyze(AnalysisContext(text=t)))}
    assert len(flagged) >= len(LEARNED_FLAGS) // 2


def test_the_cue_gated_learned_flag_marks_only_means_word_lines() -> None:
    from calmline.analysis.base import AnalysisContext
    from calmline.analysis.learned_risk import LearnedRiskAnalyzer

    analyzer = LearnedRiskAnalyzer()
    flagged = {t for t in LEARNED_FLAGS if _flagged(analyzer.analyze(AnalysisContext(text=t)))}
    assert flagged == CUED_FLAGS


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("i just want to vanish", True),
        ("whats the point of any of it", True),
        ("im dying for a coffee", False),  # suppressed hyperbole
        ("id rather die than sit on hold", False),
        ("i feel like im going to die", False),  # a prediction, not a wish
        ("im ringing to pay my bill over the phone", False),
    ],
)
def test_learned_flag_cue(text: str, cue: bool) -> None:
    from calmline.analysis.learned_risk import LearnedRiskAnalyzer

    assert LearnedRiskAnalyzer().has_cue(text) is cue


def test_learned_flag_stays_silent_on_replies_to_someone_else() -> None:
    from calmline.analysis.learned_risk import addresses_another

    assert addresses_another("you are not a burden and your family would miss you")
    assert not addresses_another("i feel like a burden, can you help me")


def _flagged(found: object) -> bool:
    return any(f.rule_id == "learned-flag" for f in found)  # type: ignore[attr-defined]


def test_means_after_ideation_in_an_earlier_turn_combine() -> None:
    history = (Turn(1, "caller", "I want to die"), Turn(2, "agent", "Are you safe right now?"))
    (f,) = [x for x in run("I have the pills right here", history=history) if x.type == "suicide_risk"]
    assert f.is_present and f.tier == "high"
    assert any("earlier turn" in n for n in f.notes)


def test_means_after_a_negated_earlier_turn_do_not_fire() -> None:
    history = (Turn(1, "caller", "I'm not suicidal"),)
    # the learned flag reads one utterance: it may prompt the agent to ask, but nothing alerts
    assert not _not_flag(
        [x for x in run("I have the pills right here", history=history) if x.type == "suicide_risk"]
    )


def test_act_after_ideation_in_an_earlier_turn_is_imminent_behaviour() -> None:
    history = (Turn(1, "caller", "I want to die"),)
    (f,) = [x for x in run("I've already taken them", history=history) if x.type == "suicide_risk"]
    assert f.is_present and (f.level, f.tier) == ("behavior", "imminent")


def test_third_person_act_after_their_ideation_in_an_earlier_turn_combines() -> None:
    history = (Turn(1, "caller", "My son says he wants to die"),)
    (f,) = [x for x in run("he's taken something", history=history) if x.type == "suicide_risk"]
    assert f.is_present and f.experiencer == "other"
    assert (f.level, f.tier) == ("behavior", "imminent")


def test_third_person_act_without_earlier_ideation_does_not_fire() -> None:
    assert not [x for x in run("he's taken something") if x.type == "suicide_risk"]


def test_timeframe_said_before_the_means_combines() -> None:
    history = (Turn(1, "caller", "I'm going to end my life"),)
    (f,) = [
        x
        for x in run("Tonight's the night. I've got everything ready.", history=history)
        if x.type == "suicide_risk"
    ]
    assert f.is_present and (f.level, f.tier) == ("plan", "imminent")


def test_cant_stop_thinking_is_present_not_negated() -> None:
    found = [x for x in run("cant stop thinking about suicide") if x.type == "suicide_risk"]
    assert any(f.is_present and f.level == "suicidal_thoughts" for f in found)


def test_ambiguous_resolve_without_ideation_does_not_fire() -> None:
    assert not _not_flag(of_type("I'm doing it on Friday when he's at work.", "suicide_risk"))
    # alone, "everything ready" only draws the learned flag (ask directly), no alert
    assert not _not_flag(
        [x for x in run("I've got everything ready, tonight's the night") if x.type == "suicide_risk"]
    )


def test_protective_factor_is_noted_without_lowering_the_tier() -> None:
    (f,) = [x for x in run("I want to kill myself but my kids keep me going") if x.type == "suicide_risk"]
    assert f.is_present and f.tier == "moderate"
    assert any("protective factor" in n and "my kids keep me going" in n for n in f.notes)


def test_method_outweighs_the_word_suicide() -> None:
    (word,) = of_type("I've thought about suicide", "suicide_risk")
    (method,) = of_type("I've been stockpiling my sleeping pills", "suicide_risk")
    assert method.score > word.score


SELF_HARM = [
    ("I've been cutting my arms again", "cutting", "present", "caller"),
    ("I burn myself with cigarettes", "burning", "present", "caller"),
    ("I don't cut myself", "cutting", "negated", "caller"),
    ("I used to cut", "cutting", "historical", "caller"),
    ("what if I cut myself again", "cutting", "hypothetical", "caller"),
    ("my daughter has been cutting herself", "cutting", "present", "other"),
    ("The urge to cut is really bad today", "cutting", "present", "caller"),
    ("i've cut and it's deep and it won't stop bleeding", "cutting", "present", "caller"),
    ("i keep doing the thing with the razor again", "cutting", "present", "caller"),
    (
        "I relapsed. Two years clean from cutting and I did it again on Saturday.",
        "cutting",
        "present",
        "caller",
    ),
    ("My daughter's been cutting her thighs", "cutting", "present", "other"),
    ("I scratched my arms till they bled because I couldn't cope.", "scratching", "present", "caller"),
    ("I hit myself in the head when I get like this.", "hitting", "present", "caller"),
    ("The lad I foster keeps banging his head on the wall on purpose.", "hitting", "present", "other"),
    ("I've been hurting myself again", "other", "present", "caller"),
    ("she's been self harming", "other", "present", "other"),
    ("I don't self-harm, the marks are from my cat.", "other", "negated", "caller"),
    ("the scars are old from when i used to burn myself", "burning", "historical", "caller"),
    ("my daughter has been cutting", "cutting", "present", "other"),
    ("i relapsed and cut again", "cutting", "present", "caller"),
    ("i took a razor to my arm", "cutting", "present", "caller"),
    ("I can't stop cutting", "cutting", "present", "caller"),
    ("been sh again", "other", "present", "caller"),
    ("I've had thoughts of harming myself", "other", "present", "caller"),
    ("my son burns himself", "burning", "present", "other"),
    ("she keeps hitting herself when she's upset", "hitting", "present", "other"),
    ("I pull my hair out when I'm stressed", "scratching", "present", "caller"),
    ("I used to sh", "other", "historical", "caller"),
    ("I don't sh", "other", "negated", "caller"),
    ("I've been pulling my hair out over this bill", None, "", ""),
    ("I cut myself some slack", None, "", ""),
    ("I burnt my hand with the kettle", None, "", ""),
    ("I've been beating myself up about missing the appointment.", None, "", ""),
    ("I could kick myself for not ringing sooner.", None, "", ""),
    ("my son cut himself on a tin can", None, "", ""),
    ("I cut my finger cooking", None, "", ""),
    ("I need to cut down on sugar", None, "", ""),
]


@pytest.mark.parametrize(("text", "level", "assertion", "experiencer"), SELF_HARM)
def test_self_harm_table(text: str, level: str | None, assertion: str, experiencer: str) -> None:
    check(of_type(text, "self_harm"), level, assertion, experiencer)


def test_a_plan_in_an_earlier_turn_makes_later_preparation_count() -> None:
    history = (
        Turn(1, "caller", "I have a bottle of pills in front of me and I'm going to take them all tonight"),
    )
    (f,) = [
        x
        for x in run("my flatmate's away. i've written letters and everything", history=history)
        if x.type == "suicide_risk"
    ]
    assert f.assertion == "present" and f.tier in ("high", "imminent")
    # without that history, letters are just letters
    assert not _not_flag([x for x in run("i've written letters and everything") if x.type == "suicide_risk"])


@pytest.mark.parametrize(
    "text",
    [
        "my friend committed suicide",
        "my brother took his own life in march",
        "her dad died by suicide when she was small",
        "my son killed himself two years ago",
    ],
)
def test_someone_elses_completed_suicide_is_bereavement_not_present_risk(text: str) -> None:
    assert not [f for f in of_type(text, "suicide_risk") if f.is_present]


@pytest.mark.parametrize(
    "text",
    [
        "my son says he wants to kill himself",
        "he is going to kill himself tonight",
        "my son tried to kill himself last night",
        "my dad died by suicide and now I feel the same way, I want to die",
    ],
)
def test_live_risk_beside_a_completed_suicide_still_fires(text: str) -> None:
    assert [f for f in of_type(text, "suicide_risk") if f.is_present]
