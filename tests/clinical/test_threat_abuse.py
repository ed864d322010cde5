import pytest

from tests.clinical.helpers import check, of_type

VIOLENCE = [
    ("I'm going to kill you", "threat_to_agent", "present", "caller"),
    ("I know where you live", "threat_to_agent", "present", "caller"),
    ("if you don't help me I'll come down there and hurt someone", "threat_to_agent", "present", "caller"),
    ("I'm gonna shoot him", "threat_to_others", "present", "caller"),
    ("I want to kill my boss", "homicidal_ideation", "present", "caller"),
    ("I'm not going to hurt him", "threat_to_others", "negated", "caller"),
    ("years ago I wanted to kill my stepfather", "homicidal_ideation", "historical", "caller"),
    ("what if I'm going to hurt someone", "threat_to_others", "hypothetical", "caller"),
    ("my son said he's going to kill his teacher", "threat_to_others", "present", "other"),
    ("I could kill for a coffee", None, "", ""),
    ("shoot, I forgot", None, "", ""),
    ("this wait is killing me", None, "", ""),
    # recall: synonyms, morphology, ASR text
    ("i swear to god im gonna batter that receptionist", "threat_to_agent", "present", "caller"),
    ("im gonna find out your name and come after you", "threat_to_agent", "present", "caller"),
    ("Put me through to the doctor or I'll burn the place down.", "threat_to_agent", "present", "caller"),
    ("someone's going to get hurt if this isn't fixed today", "threat_to_others", "present", "caller"),
    (
        "I'm going to wait for him outside the pub and he won't walk away from it",
        "threat_to_others",
        "present",
        "caller",
    ),
    ("I've been having thoughts of killing my wife", "homicidal_ideation", "present", "caller"),
    ("Sometimes I think about killing my stepfather", "homicidal_ideation", "present", "caller"),
    ("I'd never hurt anyone", "threat_to_others", "negated", "caller"),
    ("there's no way I'd hurt my son", "threat_to_others", "negated", "caller"),
    ("I used to threaten people when I was drinking, years ago", "threat_to_others", "historical", "caller"),
    ("what if I wanted to hurt my husband", "homicidal_ideation", "hypothetical", "caller"),
    ("My husband keeps saying he'll kill me if I ever leave", "threat_to_others", "present", "other"),
    # incitement (hate speech calling for violence), not mere insults
    ("they should all be shot", "incitement", "present", "other"),
    ("time to nuke them", "incitement", "present", "caller"),
    ("someone needs to put a bullet in that guy", "incitement", "present", "caller"),
    ("kill them all", "incitement", "present", "caller"),
    ("you're a useless idiot and a disgrace", None, "", ""),
    # hard negatives: idioms
    ("I could kill him for being late", None, "", ""),
    ("that joke killed", None, "", ""),
    ("my boss will murder me", None, "", ""),
    ("kill the lights", None, "", ""),
    ("i'm going to strangle my printer its jammed again", None, "", ""),
    ("I'm going to hit him up later", None, "", ""),
    ("the antibiotics should kill the infection", None, "", ""),
    ("my mum is going to kill me when she sees the bill", None, "", ""),
    ("we'll get you seen today", None, "", ""),
    # recall: paraphrases outside the dev set
    ("i'll be down there and someone's getting hurt", "threat_to_others", "present", "caller"),
    ("im gonna go round and sort him out", "threat_to_others", "present", "caller"),
    ("if I see that doctor again I'll smash his face in", "threat_to_others", "present", "caller"),
    ("I'll knock your block off", "threat_to_agent", "present", "caller"),
    ("you'd better watch yourself", "threat_to_agent", "present", "caller"),
    ("I'll stab the next person who tells me to wait", "threat_to_others", "present", "caller"),
    ("I'm going to make him pay.", "threat_to_others", "present", "caller"),
    ("I'm not going to smash his face in", "threat_to_others", "negated", "caller"),
    ("what if I'd put him in hospital", "threat_to_others", "hypothetical", "caller"),
    ("I'll make him pay the bill", None, "", ""),
    ("I'm going to sort out the paperwork", None, "", ""),
    ("did he break his arm when he fell", None, "", ""),
    ("I'll be down there at two for my appointment", None, "", ""),
]


@pytest.mark.parametrize(("text", "level", "assertion", "experiencer"), VIOLENCE)
def test_violence_table(text: str, level: str | None, assertion: str, experiencer: str) -> None:
    check(of_type(text, "violence_threat"), level, assertion, experiencer)


ABUSE = [
    ("my husband hits me", "domestic", "present", "caller"),
    ("I'm scared to go home", "domestic", "present", "caller"),
    ("he won't let me leave the house", "domestic", "present", "caller"),
    ("my husband never hits me", "domestic", "negated", "caller"),
    ("my ex used to beat me years ago", "domestic", "historical", "caller"),
    ("what if he hits me again", "domestic", "hypothetical", "caller"),
    ("my sister's husband hits her", "domestic", "present", "other"),
    ("my boyfriend hits my son", "child", "present", "other"),
    ("my dad used to hit me when I was a kid", "child", "historical", "caller"),
    ("my grandson takes all of my pension", "elder", "present", "caller"),
    ("I was raped", "sexual", "present", "caller"),
    ("my friend hits me up every day", None, "", ""),
    ("my brother beat me at chess", None, "", ""),
    # recall: paraphrase, coercive control, ASR text
    ("he gets angry and then i have to wear sunglasses for a week", "domestic", "present", "caller"),
    ("I'm not allowed to go anywhere on my own", "domestic", "present", "caller"),
    ("he goes through my phone every night", "domestic", "present", "caller"),
    ("I'm whispering because he's in the next room", "domestic", "present", "caller"),
    ("My husband keeps saying he'll kill me if I ever leave", "domestic", "present", "caller"),
    ("he grabbed me by the throat last night", "domestic", "present", "caller"),
    ("My manager keeps touching me and cornering me in the stockroom", "sexual", "present", "caller"),
    ("Someone at the party did things to me while I was passed out", "sexual", "present", "caller"),
    ("my daughter told me her uncle touched her", "child", "present", "other"),
    ("my daughter told me her uncle touched her", "sexual", "present", "other"),
    ("he has never grabbed me", "domestic", "negated", "caller"),
    ("i was sexually assaulted at uni years ago now", "sexual", "historical", "caller"),
    ("if he ever hit me i'd leave straight away", "domestic", "hypothetical", "caller"),
    ("the carer left my mum in soiled sheets all day", "elder", "present", "other"),
    ("he sent me a text", None, "", ""),
    # recall: paraphrases outside the dev set
    ("he's been knocking me about", "domestic", "present", "caller"),
    ("my husband beat me up again last night", "domestic", "present", "caller"),
    ("I got beaten up by my partner", "domestic", "present", "caller"),
    ("he threw a glass at me", "domestic", "present", "caller"),
    ("she controls all my money and won't let me see my friends", "domestic", "present", "caller"),
    ("my mum's new boyfriend hits my little boy", "child", "present", "other"),
    ("I think my neighbour's kids are being beaten", "child", "uncertain", "other"),
    ("my mum's carer has been stealing from her", "elder", "present", "other"),
    ("he forced himself on me", "sexual", "present", "caller"),
    ("he has never knocked me about", "domestic", "negated", "caller"),
    ("my sister said her husband used to beat her up years ago", "domestic", "historical", "other"),
    ("my son got hit by a ball at football", None, "", ""),
    ("he takes his pills every morning", None, "", ""),
    ("my husband hit the wall and hurt his hand", None, "", ""),
]


@pytest.mark.parametrize(("text", "level", "assertion", "experiencer"), ABUSE)
def test_abuse_table(text: str, level: str | None, assertion: str, experiencer: str) -> None:
    f = check(of_type(text, "abuse_disclosure"), level, assertion, experiencer)
    if f is not None:
        assert f.notes, "abuse findings carry safeguarding notes"
