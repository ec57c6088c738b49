"""A corpus of news articles with known story groups, for the story-grouping tests.

Each story is a wire text (English or French) copied by several outlets the
way outlets copy wire copy: a dateline or agency credit added, a word or a
phrase changed, a sentence dropped, the text cut to a two-sentence RSS
summary, a new headline on the same text, or the same story re-published under
a new URL hours later. Beside them: follow-ups of those stories (new facts,
new text: NOT the same story) and unrelated articles that share their
entities. Three stories exist in both languages with the same ``event``.

``story`` is the truth for one language; ``event`` links the translations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class CorpusArticle:
    id: str
    story: str  # same value = same story, in one language
    event: str  # same value = same event, in any language
    language: str
    kind: str  # wire, copy, headline, summary, republish, followup, unrelated
    url: str
    title: str
    text: str
    published: datetime


# --- the wire stories ----------------------------------------------------------------------------
# Each: (story id, event id, language, start hour, wire title, wire text, other headlines).

WIRE = [
    ("nato-en", "nato", "en", 0,
     "NATO allies agree to raise defence spending target to 3.5 percent",
     "NATO leaders meeting in The Hague on Tuesday agreed to raise the alliance's defence spending target to "
     "3.5 percent of gross domestic product by 2035, after months of pressure from Washington. Secretary General "
     "Mark Rutte said the decision was a historic step to deter Russia. Spain secured an exemption and said it "
     "would not be bound by the new figure. The allies also pledged continued support for Ukraine, whose "
     "president Volodymyr Zelensky attended a dinner with leaders on the eve of the summit. Diplomats said the "
     "final communique was kept to five paragraphs to avoid open disputes.",
     ["NATO leaders back 3.5% spending goal at Hague summit",
      "Allies bow to pressure, set new defence spending goal",
      "Rutte hails 'historic' NATO deal on defence budgets"]),
    ("nato-fr", "nato", "fr", 1,
     "Les alliés de l'OTAN s'accordent pour porter leurs dépenses de défense à 3,5 % du PIB",
     "Réunis à La Haye mardi, les dirigeants de l'OTAN se sont accordés pour porter l'objectif de dépenses de "
     "défense de l'Alliance à 3,5 % du produit intérieur brut d'ici 2035, après des mois de pression de "
     "Washington. Le secrétaire général Mark Rutte a salué une décision historique pour dissuader la Russie. "
     "L'Espagne a obtenu une exemption et a affirmé qu'elle ne serait pas liée par ce nouvel objectif. Les alliés "
     "ont aussi promis de continuer à soutenir l'Ukraine, dont le président Volodymyr Zelensky a participé à un "
     "dîner avec les dirigeants la veille du sommet. Selon des diplomates, le communiqué final a été limité à "
     "cinq paragraphes pour éviter les désaccords.",
     ["Sommet de l'OTAN à La Haye : objectif de 3,5 % du PIB pour la défense",
      "Défense : les alliés cèdent à la pression de Washington",
      "L'OTAN fixe un nouvel objectif de dépenses militaires"]),
    ("kyiv-en", "kyiv", "en", 20,
     "Russia launches massive drone attack on Kyiv, killing at least 9",
     "Russia launched one of its largest drone and missile attacks on Kyiv overnight, killing at least nine "
     "people and wounding 63, Ukrainian officials said on Thursday. Mayor Vitali Klitschko said fires broke out "
     "in several districts and a residential building partly collapsed in the Sviatoshynskyi district. The "
     "Ukrainian air force said it shot down 352 of the 397 drones and 16 missiles launched by Moscow. President "
     "Volodymyr Zelensky urged allies to deliver more air defence systems. Rescue workers were still searching "
     "the rubble for survivors on Thursday morning.",
     ["Kyiv hit by one of the biggest Russian air attacks of the war",
      "At least nine killed as Russian drones and missiles pound Kyiv",
      "Overnight strikes on Ukrainian capital kill nine, wound 63"]),
    ("kyiv-fr", "kyiv", "fr", 21,
     "Vaste attaque de drones russes sur Kiev, au moins 9 morts",
     "La Russie a lancé dans la nuit l'une de ses plus vastes attaques de drones et de missiles contre Kiev, "
     "tuant au moins neuf personnes et en blessant 63, ont annoncé jeudi les autorités ukrainiennes. Le maire "
     "Vitali Klitschko a fait état d'incendies dans plusieurs quartiers et de l'effondrement partiel d'un "
     "immeuble d'habitation dans le district de Sviatoshynskyi. L'armée de l'air ukrainienne a affirmé avoir "
     "abattu 352 des 397 drones et 16 missiles lancés par Moscou. Le président Volodymyr Zelensky a appelé les "
     "alliés à livrer davantage de systèmes de défense antiaérienne. Les secours cherchaient encore des "
     "survivants dans les décombres jeudi matin.",
     ["Kiev frappée par l'une des plus grandes attaques russes depuis le début de la guerre",
      "Au moins neuf morts dans une attaque massive de drones sur Kiev",
      "Ukraine : nuit de frappes russes sur la capitale"]),
    ("ecb-en", "ecb", "en", 28,
     "ECB holds interest rates steady as inflation nears target",
     "The European Central Bank kept its deposit rate unchanged at 2 percent on Thursday, pausing after eight "
     "cuts in a year as euro zone inflation hovered close to its 2 percent target. President Christine Lagarde "
     "told a news conference in Frankfurt that the bank was in a good place but would keep a meeting by meeting "
     "approach. Policymakers cited uncertainty over United States tariffs and a stronger euro. Markets trimmed "
     "bets on a further cut in the autumn after the decision, and the euro rose 0.3 percent against the dollar.",
     ["ECB pauses rate cuts, keeps deposit rate at 2%",
      "Lagarde says ECB 'in a good place' as rates left on hold",
      "Euro zone central bank leaves borrowing costs unchanged"]),
    ("quake-en", "quake", "en", 34,
     "Magnitude 6.1 earthquake strikes eastern Turkey, 14 dead",
     "A magnitude 6.1 earthquake struck the eastern Turkish province of Malatya early on Saturday, killing at "
     "least 14 people and injuring more than 120, the disaster agency AFAD said. The quake hit at a depth of ten "
     "kilometres near the town of Puturge and was felt as far away as Diyarbakir and Elazig. Interior Minister "
     "Ali Yerlikaya said 22 buildings had collapsed and search teams were working through the night. Schools in "
     "the province will stay closed for a week. The region was devastated by twin earthquakes in February 2023.",
     ["Deadly quake hits Malatya province in eastern Turkey",
      "At least 14 killed as 6.1 tremor rocks Turkey's Malatya",
      "Turkey earthquake: buildings collapse in Malatya"]),
    ("apple-en", "apple", "en", 40,
     "EU fines Apple 500 million euros over App Store rules",
     "The European Commission fined Apple 500 million euros on Wednesday for preventing app developers from "
     "steering users to cheaper offers outside its App Store, the first penalty under the Digital Markets Act. "
     "Competition chief Teresa Ribera said the company had 60 days to comply or face daily fines. Apple said it "
     "would appeal, calling the decision unfair and a tax on its innovation. The ruling comes amid trade tensions "
     "with Washington, which has criticised European rules on American technology companies. Meta was fined "
     "200 million euros in a separate decision on the same day.",
     ["Apple hit with €500m EU fine under Digital Markets Act",
      "Brussels fines Apple over App Store anti-steering rules",
      "Apple to appeal 500 million euro penalty from Brussels"]),
    ("fire-en", "fire", "en", 48,
     "Wildfire forces thousands to evacuate near Los Angeles",
     "A fast moving wildfire in the hills north of Los Angeles forced more than 30,000 residents to evacuate on "
     "Monday as strong Santa Ana winds pushed the flames toward homes, fire officials said. The Canyon Fire has "
     "burned 12,000 acres and was 5 percent contained by the evening. Governor Gavin Newsom declared a state of "
     "emergency for Los Angeles County and said 1,800 firefighters had been deployed. Several schools closed and "
     "a section of Interstate 5 was shut. No deaths have been reported, officials said.",
     ["30,000 ordered to flee as Canyon Fire spreads north of LA",
      "California governor declares emergency as wildfire grows",
      "Santa Ana winds fan fast-moving blaze near Los Angeles"]),
    ("strike-fr", "strike", "fr", 4,
     "Grève à la SNCF : un TGV sur deux circulera ce week-end",
     "La SNCF prévoit de faire circuler un TGV sur deux et un TER sur trois samedi et dimanche en raison d'une "
     "grève des contrôleurs, a annoncé l'entreprise vendredi. Le mouvement, lancé par SUD-Rail et la CGT-Cheminots, "
     "porte sur les salaires et l'organisation du travail. Le ministre des Transports Philippe Tabarosi a appelé "
     "les syndicats à la responsabilité à l'approche des vacances scolaires. Les voyageurs dont le train est "
     "supprimé pourront se faire rembourser sans frais ou échanger leur billet. Les trains Eurostar et les lignes "
     "Intercités sont également touchés.",
     ["SNCF : le trafic fortement perturbé samedi et dimanche",
      "Grève des contrôleurs : la SNCF annonce un TGV sur deux",
      "Week-end noir sur les rails : ce qu'il faut savoir"]),
    ("budget-fr", "budget", "fr", 26,
     "L'Assemblée nationale adopte le projet de budget de la Sécurité sociale",
     "L'Assemblée nationale a adopté mardi en première lecture le projet de loi de financement de la Sécurité "
     "sociale, par 287 voix contre 243, au terme de trois semaines de débats. Le texte prévoit de ramener le "
     "déficit de la Sécurité sociale à 17 milliards d'euros l'an prochain. La ministre de la Santé Catherine "
     "Vautrin a salué un vote de responsabilité. Les députés ont supprimé le gel des pensions de retraite prévu "
     "par le gouvernement. Le texte doit maintenant être examiné par le Sénat à partir du 17 novembre.",
     ["Budget de la Sécu : feu vert de l'Assemblée en première lecture",
      "Les députés adoptent le budget de la Sécurité sociale",
      "PLFSS : l'Assemblée vote le texte, le Sénat prend le relais"]),
    ("marseille-fr", "marseille", "fr", 30,
     "Marseille : un violent incendie ravage un entrepôt dans les quartiers nord",
     "Un violent incendie s'est déclaré mercredi en fin de matinée dans un entrepôt de 5 000 mètres carrés du "
     "14e arrondissement de Marseille, provoquant un épais panache de fumée visible dans toute la ville, selon "
     "les marins-pompiers. Quelque 150 pompiers ont été mobilisés et une centaine de riverains ont été évacués "
     "par précaution. La préfecture des Bouches-du-Rhône a demandé aux habitants de fermer leurs fenêtres. Aucune "
     "victime n'est à déplorer. L'autoroute A7 a été fermée à la circulation dans les deux sens pendant "
     "plusieurs heures.",
     ["Incendie spectaculaire dans un entrepôt à Marseille",
      "Marseille : 150 pompiers mobilisés contre un feu d'entrepôt",
      "Un panache de fumée au-dessus de Marseille, l'A7 fermée"]),
    ("storm-fr", "storm", "fr", 44,
     "Tempête Amélie : la Bretagne et la Normandie en vigilance orange",
     "Météo-France a placé jeudi le Finistère, les Côtes-d'Armor, la Manche et le Calvados en vigilance orange "
     "vents violents à l'approche de la tempête Amélie. Des rafales de 130 km/h sont attendues sur les côtes "
     "dans la nuit de jeudi à vendredi et jusqu'à 100 km/h dans les terres. Les préfectures ont recommandé de "
     "limiter les déplacements et de ne pas se promener en bord de mer. Les liaisons maritimes vers les îles "
     "bretonnes ont été suspendues. Enedis a prépositionné des équipes pour rétablir l'électricité en cas de "
     "coupures.",
     ["Vigilance orange vents violents : quatre départements concernés",
      "La tempête Amélie attendue sur le nord-ouest de la France",
      "Rafales à 130 km/h : la Bretagne se prépare à la tempête"]),
]

# --- what NOT to join: follow-ups and unrelated articles sharing entities -------------------------
# Each: (story id, event id, language, hour, kind, title, text)

OTHERS = [
    ("nato-en-followup", "nato-followup", "en", 26, "followup",
     "Spain's NATO exemption angers allies as Trump threatens trade penalties",
     "A day after the NATO summit in The Hague, several allies criticised the exemption granted to Spain, with "
     "Dutch and Polish officials saying it undermined the credibility of the new spending target. Donald Trump "
     "said Spain would pay twice as much in trade talks. Prime Minister Pedro Sanchez replied that Madrid would "
     "meet its capability commitments with 2.1 percent of GDP. Secretary General Mark Rutte declined to comment "
     "on the dispute."),
    ("nato-en-other", "nato-other", "en", 10, "unrelated",
     "NATO jets scrambled after Russian aircraft near Baltic airspace",
     "NATO fighter jets were scrambled on Tuesday to intercept three Russian military aircraft flying close to "
     "Estonian airspace over the Baltic Sea, the alliance said. The Russian planes had their transponders off "
     "and did not file flight plans. Estonia summoned the Russian charge d'affaires. Mark Rutte said the alliance "
     "would respond to any violation of its territory."),
    ("kyiv-en-followup", "kyiv-followup", "en", 44, "followup",
     "Zelensky visits site of deadly strike as Kyiv death toll rises to 23",
     "The death toll from Russia's overnight attack on Kyiv rose to 23 on Friday after rescuers pulled more "
     "bodies from a collapsed apartment block, city officials said. President Volodymyr Zelensky laid flowers at "
     "the site in Sviatoshynskyi district and declared a day of mourning. Mayor Vitali Klitschko said 14 "
     "people were still missing. Moscow said it had targeted military industrial sites."),
    ("kyiv-en-other", "kyiv-other", "en", 24, "unrelated",
     "Ukraine and Russia agree to new prisoner exchange after talks in Istanbul",
     "Ukraine and Russia agreed on Thursday to exchange 1,200 prisoners of war after a second round of direct "
     "talks in Istanbul, negotiators said. Kyiv's delegation was led by Defence Minister Rustem Umerov, and "
     "Moscow's by presidential aide Vladimir Medinsky. President Volodymyr Zelensky said the talks had not "
     "produced progress toward a ceasefire."),
    ("ecb-en-other", "ecb-other", "en", 30, "unrelated",
     "Lagarde warns climate risks threaten euro zone financial stability",
     "European Central Bank President Christine Lagarde warned on Thursday that extreme weather and the energy "
     "transition pose growing risks to banks in the euro zone. Speaking at a conference in Frankfurt, she said "
     "the ECB would step up climate stress tests next year. Lenders with large exposures to fossil fuels would "
     "face closer scrutiny, she said."),
    ("boe-en-other", "boe-other", "en", 29, "unrelated",
     "Bank of England holds interest rates steady as inflation stays high",
     "The Bank of England kept its benchmark rate unchanged at 4 percent on Thursday as British inflation stayed "
     "well above its 2 percent target. Governor Andrew Bailey told a news conference in London that the bank "
     "would cut rates gradually. Policymakers cited uncertainty over United States tariffs and weak growth. "
     "Markets trimmed bets on a cut in November after the decision, and sterling rose 0.4 percent against the "
     "dollar."),
    ("quake-en-followup", "quake-followup", "en", 58, "followup",
     "Turkey quake death toll climbs to 41 as rescuers search collapsed buildings",
     "Rescuers in Malatya pulled two survivors from the rubble on Sunday as the death toll from Saturday's "
     "earthquake in eastern Turkey climbed to 41, AFAD said. President Recep Tayyip Erdogan visited Puturge and "
     "promised to rebuild every destroyed home within a year. Aftershocks of up to magnitude 4.8 kept thousands "
     "of families sleeping in tents."),
    ("apple-en-other", "apple-other", "en", 42, "unrelated",
     "European Commission fines Google 2.9 billion euros over advertising technology",
     "The European Commission fined Google 2.9 billion euros on Wednesday for abusing its dominance in "
     "advertising technology, ordering the company to end its conflicts of interest. Competition chief Teresa "
     "Ribera said Google had 60 days to propose remedies. Google said it would appeal. Washington has "
     "criticised the penalties imposed by Brussels on American technology companies."),
    ("fire-en-followup", "fire-followup", "en", 70, "followup",
     "Crews gain ground on Canyon Fire as evacuation orders are lifted",
     "Firefighters gained ground on the Canyon Fire north of Los Angeles on Tuesday as calmer winds allowed "
     "crews to build containment lines, and evacuation orders were lifted for about 20,000 residents. The blaze "
     "was 40 percent contained after burning 14,500 acres. Officials said 37 homes had been destroyed. The cause "
     "of the fire remains under investigation."),
    ("strike-fr-followup", "strike-followup", "fr", 50, "followup",
     "SNCF : accord trouvé, la grève des contrôleurs levée",
     "La direction de la SNCF et les syndicats SUD-Rail et CGT-Cheminots sont parvenus dimanche soir à un "
     "accord sur une prime de 400 euros, mettant fin à la grève des contrôleurs. Le trafic sera normal dès "
     "lundi, a assuré l'entreprise. Le ministre des Transports Philippe Tabarosi s'est félicité d'un compromis "
     "responsable."),
    ("budget-fr-other", "budget-other", "fr", 30, "unrelated",
     "Le gouvernement survit à une motion de censure à l'Assemblée nationale",
     "La motion de censure déposée par la gauche contre le gouvernement a été rejetée jeudi à l'Assemblée "
     "nationale, recueillant 264 voix, loin des 289 nécessaires. Le Premier ministre a dénoncé une manœuvre "
     "politicienne. Les députés du Rassemblement national ne l'ont pas votée. Le débat sur le budget de la "
     "Sécurité sociale doit reprendre au Sénat."),
    ("marseille-fr-other", "marseille-other", "fr", 33, "unrelated",
     "Marseille : l'A7 fermée après un accident impliquant un poids lourd",
     "L'autoroute A7 a été fermée jeudi matin dans le sens Marseille-Lyon après un accident impliquant un poids "
     "lourd dans le 15e arrondissement de Marseille, selon la préfecture des Bouches-du-Rhône. Le chauffeur a "
     "été légèrement blessé. Les marins-pompiers sont intervenus pour une fuite de carburant."),
    ("storm-fr-followup", "storm-followup", "fr", 64, "followup",
     "Tempête Amélie : 80 000 foyers privés d'électricité en Bretagne",
     "Au lendemain du passage de la tempête Amélie, quelque 80 000 foyers restaient privés d'électricité "
     "vendredi en Bretagne et en Normandie, selon Enedis. Une rafale record de 148 km/h a été mesurée à la "
     "pointe du Raz. Un homme a été grièvement blessé par la chute d'un arbre dans le Finistère. Météo-France a "
     "levé la vigilance orange en fin de matinée."),
    ("kyiv-fr-other", "kyiv-fr-other", "fr", 25, "unrelated",
     "Zelensky reçu à l'Élysée, Paris promet de nouveaux systèmes de défense antiaérienne",
     "Le président ukrainien Volodymyr Zelensky a été reçu jeudi à l'Élysée, où la France a promis de livrer "
     "de nouveaux systèmes de défense antiaérienne à l'Ukraine avant l'hiver. Les deux dirigeants ont aussi "
     "évoqué le rôle de l'Europe dans d'éventuelles garanties de sécurité face à la Russie et à Moscou."),
]

# --- how outlets edit wire copy ------------------------------------------------------------------

SWAPS = {
    "en": [("said on", "said"), (" said", " told reporters"), ("at least", "no fewer than"),
           ("more than", "over"), ("on Thursday", "Thursday"), ("officials", "authorities"),
           ("percent", "%"), ("also", "additionally")],
    "fr": [("a annoncé", "a indiqué"), ("selon", "d'après"), ("a affirmé", "a assuré"), ("mardi", "ce mardi"),
           ("quelque", "environ"), ("ont été", "sont"), ("également", "aussi"), ("plusieurs", "de nombreux")],
}
DATELINES = {"en": ["(Reuters) - ", "LONDON, AP — ", "By our correspondent: "],
             "fr": ["(AFP) - ", "PARIS (Reuters) — ", "Par notre correspondant : "]}
SUFFIXES = {"en": " Read more on our website.", "fr": " Lire aussi notre dossier."}


def _sentences(text: str) -> list[str]:
    return re.split(r"(?<=[.!?])\s+", text)


def _swap(text: str, pairs: list[tuple[str, str]]) -> str:
    for old, new in pairs:
        text = text.replace(old, new, 1)
    return text


def _variants(story, event, lang, hour, title, text, headlines):
    """The wire copy and eight copies by other outlets."""
    s = _sentences(text)
    sw = SWAPS[lang]
    out = [
        ("wire", 0, title, text),
        # A dateline and two words changed.
        ("copy", 0.5, title, DATELINES[lang][0] + _swap(text, sw[0:2])),
        # A new headline, a sentence dropped, a word changed.
        ("copy", 1, headlines[0], " ".join(s[:2] + s[3:]).replace(*sw[2])),
        # A new headline on the same text.
        ("headline", 1.5, headlines[1], text),
        # A two-sentence RSS summary under yet another headline.
        ("summary", 2, headlines[2], " ".join(s[:2]) + " […]"),
        # Several small edits, last sentence dropped, a suffix.
        ("copy", 3, title, DATELINES[lang][1] + _swap(" ".join(s[:-1]), sw[3:7]) + SUFFIXES[lang]),
        # Re-published hours later under a new URL with an "updated" title.
        ("republish", 9, ("UPDATE 1-" if lang == "en" else "ACTUALISÉ - ") + title, text),
        # Heavily edited: new headline, first two sentences swapped, every swap, last two sentences cut.
        ("copy", 4, headlines[0], DATELINES[lang][2] + _swap(" ".join([s[1], s[0]] + s[2:-2]), sw)),
        # Only the first sentence, as some feeds give it.
        ("summary", 5, headlines[1], s[0] + " …"),
    ]
    for k, (kind, dh, t, body) in enumerate(out):
        yield CorpusArticle(f"{story}-{k}", story, event, lang, kind, f"https://outlet{k}.example/{story}/{k}",
                            t, body, T0 + timedelta(hours=hour + dh))


def build() -> list[CorpusArticle]:
    """Every article of the corpus, in publication order."""
    arts = [a for w in WIRE for a in _variants(*w)]
    for story, event, lang, hour, kind, title, text in OTHERS:
        arts.append(CorpusArticle(story, story, event, lang, kind, f"https://other.example/{story}",
                                  title, text, T0 + timedelta(hours=hour)))
    return sorted(arts, key=lambda a: (a.published, a.id))
