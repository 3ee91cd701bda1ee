"""A second, independently written generator of UK-shaped interchange records with
the truth of who is who: not Sightline's synthetic region (crates/sightline-synth),
with other name lists, other household shapes and other noise, to check that
linkage holds on a population it was not tuned on.

usage: python3 independent_uk.py HOUSEHOLDS SEED OUT_PREFIX [--csv]
writes OUT_PREFIX.jsonl (interchange v1, one record per line) and
OUT_PREFIX.truth.csv (agency,record_id,ref,person); with --csv, instead,
OUT_PREFIX.csv, one row per person mention in the columns of the linkage
benchmark (scripts/bench-linkage): record_id (the record's id and the mention's
ref), person_id (the truth), given_names, family_name, dob, sex, postcode,
address, nhs_number. The same seed gives the same people and mentions in both
forms. About 9.1 mentions per household: 110,000 households give about
1,000,000 rows. Standard library only.

Households: a mother, a partner in 60% (a different surname in 20% of those), 0-3
children born 2005-2020; a son named after his father in 10% of first sons; a twin
(same date of birth, either sex, another given name) for 4% of children. Each
person has 1-4 records from six agencies (GP, emergency department and health
visiting carry the NHS number on 85%, 50% and 70% of records; police, school and
housing never); a child's record names a parent in half of them. Noise per
mention: nickname 6% (of names that have one), a typing error in the given name
5% and in the surname 4%, given and family name swapped 2%, date of birth day and
month transposed 3% or a day off 2% (police leave it out 15%), sex left out 30%,
an old address 8%, postcode left out 20%, address left out 10%.
"""
import json, random, sys, datetime
N_HOUSEHOLDS = int(sys.argv[1])
random.seed(int(sys.argv[2]))
BOYS = "Oliver George Harry Jack Jacob Noah Charlie Muhammad Thomas Oscar William James Leo Alfie Henry Joshua Freddie Archie Ethan Isaac Alexander Joseph Edward Samuel Max Daniel Arthur Lucas Mohammed Logan Theo Harrison Benjamin Mason Sebastian Finley Adam Dylan Zachary Riley Teddy Theodore David Elijah Jake Toby Louie Reuben Arlo Hugo Jaxon Michael Ryan Stanley Matthew Tommy Liam Elliot Rory Ronnie Frankie Caleb Jenson Albert Jude Luca Austin Ezra Hunter Felix Carter Bobby Nathan Jayden".split()
GIRLS = "Olivia Amelia Isla Ava Emily Isabella Mia Poppy Ella Lily Sophia Jessica Grace Evie Sophie Charlotte Freya Chloe Daisy Alice Florence Ruby Sienna Phoebe Matilda Evelyn Harper Scarlett Millie Willow Ivy Rosie Elsie Layla Maya Emma Hannah Zara Esme Eva Amelie Bella Lucy Molly Holly Erin Imogen Anna Eliza Maria Katie Megan Lola Leah Elizabeth Sarah Rebecca Laura Rachel Claire Nicola Michelle Kelly Donna Joanne Lisa Karen Tracy Julie Helen".split()
SURNAMES = "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali Hunt Hussain Campbell Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell Barker Fisher Stevens Jenkins Murray Dixon Harvey Graham Pearson Ahmed Fletcher Walsh Kaur Gibson Howard Andrews Stewart Elliott Reynolds Saunders Payne Fox Ford Pearce Day Brooks West Lawrence Cole Atkinson Bradley Spencer Gill Dawson Ball Burton Obrien Watts Rose Booth Perry Ryan Grant Wells Armstrong Francis Rees Hayes Hart Hudson Newman Barrett Webster Hunter Gregory Carr Lowe Page Marsh Riley Dunn Woods Parsons Berry Stone Reid Holland Hawkins Harding Porter Robertson Newton Oliver Reed Kennedy Williamson Bird Gardner Shah Dean Lane Cooke Bates Henderson Parry Burgess Bishop Walton Burns Nicholson Shepherd Ross Cross Long Freeman Warren Nicholls Hamilton Byrne Sutton Mcdonald Yates Hodgson Robson Curtis Hopkins Oconnor Harper Coleman Watkins Moss Mccarthy Chambers Odonnell Griffin Sharp Hardy Wheeler Potter Osborne Johnston Gordon Doyle Wallace George Jordan Hutchinson Rowe Burke May Pritchard Gilbert Willis Higgins Read Miles Stevenson Stephenson Hammond Arnold Buckley Walters Hewitt Barber Nelson Slater Austin Sullivan Whitehead Mann Frost Lambert Stephens Blake Akhtar Lynch Goodwin Barton Woodward Thomson Cunningham Quinn Barnett Baxter Bibi Clayton Nash Greenwood Jennings Holt Kemp Poole Gallagher Bond Stokes Tucker Davidson Fowler Heath Norman Middleton Lawson Banks French Stanley Jarvis Gibbs Ferguson Hayward Carroll Douglas Dickinson Todd Barlow Peters Lucas Knowles Hartley Miah Simmons Morton Alexander Field Morrison Norris Townsend Preston Hancock Thornton Baldwin Burrows Briggs Storey Pike Duncan Whittaker".split()
NICK = {"William": "Bill", "Thomas": "Tom", "James": "Jim", "Joseph": "Joe", "Samuel": "Sam", "Daniel": "Dan", "Benjamin": "Ben", "Alexander": "Alex", "Matthew": "Matt", "Michael": "Mike", "Edward": "Ed", "Frederick": "Fred", "Elizabeth": "Liz", "Jessica": "Jess", "Rebecca": "Becky", "Charlotte": "Lottie", "Isabella": "Bella", "Nicola": "Nicky", "Joanne": "Jo", "Katie": "Kate", "Sophia": "Sophie", "Eliza": "Liza", "Theodore": "Theo", "Zachary": "Zac", "Harrison": "Harry"}
STREETS = "High Street|Station Road|Church Lane|Victoria Road|Green Lane|Manor Road|Park Avenue|Queens Road|Kings Road|Mill Lane|School Lane|The Crescent|Grange Road|Albert Road|New Road|London Road|North Street|York Road|Springfield Road|Chester Road".split("|")
AREAS = ["LS", "M", "B", "N", "E", "SE", "BS", "NG", "L", "S", "CF", "G", "EH", "NE", "CV"]
L = "ABDEFGHJLNPQRSTUWXYZ"
def postcode(): return f"{random.choice(AREAS)}{random.randint(1,28)} {random.randint(1,9)}{random.choice(L)}{random.choice(L)}"
def address(): return f"{random.randint(1,240)} {random.choice(STREETS)}"
def nhs():
    while True:
        d = [random.randint(0,9) for _ in range(9)]
        if d[0] == 0: continue
        s = sum(x*(10-i) for i, x in enumerate(d)); c = 11 - s % 11
        if c == 11: c = 0
        if c == 10: continue
        n = "".join(map(str, d)) + str(c)
        return f"{n[:3]} {n[3:6]} {n[6:]}"
def typo(s):
    if len(s) < 4: return s
    i = random.randint(1, len(s)-2); k = random.random()
    if k < .4: return s[:i] + s[i+1] + s[i] + s[i+2:]
    if k < .7: return s[:i] + s[i+1:]
    return s[:i] + random.choice("aeioulnrst") + s[i+1:]
def date(a, b): return a + datetime.timedelta(days=random.randint(0, (b-a).days))
people = []; households = []
for h in range(N_HOUSEHOLDS):
    surname = random.choice(SURNAMES); pc = postcode(); addr = address()
    members = []
    mum = {"given": random.choice(GIRLS), "family": surname, "sex": "female", "dob": date(datetime.date(1970,1,1), datetime.date(1995,12,31))}
    members.append(mum)
    if random.random() < .6:
        dad = {"given": random.choice(BOYS), "family": surname if random.random() < .8 else random.choice(SURNAMES), "sex": "male", "dob": date(datetime.date(1965,1,1), datetime.date(1995,12,31))}
        members.append(dad)
    nkids = random.choice([0,1,1,2,2,3])
    for k in range(nkids):
        sex = random.choice(["male","female"]); dob = date(datetime.date(2005,1,1), datetime.date(2020,12,31))
        given = random.choice(BOYS if sex == "male" else GIRLS)
        if k == 0 and sex == "male" and len(members) > 1 and random.random() < .1: given = members[1]["given"]  # named after dad
        members.append({"given": given, "family": surname, "sex": sex, "dob": dob, "child": True})
        if random.random() < .04:  # twin
            sex2 = random.choice(["male","female"]); g2 = random.choice(BOYS if sex2 == "male" else GIRLS)
            members.append({"given": g2, "family": surname, "sex": sex2, "dob": dob, "child": True})
    for m in members:
        m["id"] = f"P{len(people)}"; m["nhs"] = nhs(); m["pc"] = pc; m["addr"] = addr
        m["moved_pc"] = postcode(); m["moved_addr"] = address()
        people.append(m)
    households.append(members)
AG = [("gp-leeds", "health.gp_consultation", .85), ("ed-general", "health.ed_attendance", .5), ("police-west", "police.call_out", 0), ("school-park", "education.concern", 0), ("housing-city", "housing.occupancy", 0), ("hv-team", "health.health_visitor_contact", .7)]
def mention(m, ref, role, nhs_p, agency):
    p = {"ref": ref, "role": role}
    g, f = m["given"], m["family"]
    if random.random() < .06 and g in NICK: g = NICK[g]
    if random.random() < .05: g = typo(g)
    if random.random() < .04: f = typo(f)
    if random.random() < .02: g, f = f, g
    p["given_names"] = g; p["family_name"] = f
    dob = m["dob"]
    r = random.random()
    if agency.startswith("police") and r < .15: pass
    elif r < .03 and dob.day <= 12 and dob.day != dob.month: p["dob"] = datetime.date(dob.year, dob.day, dob.month).isoformat()
    elif r < .05:
        try: p["dob"] = dob.replace(day=max(1, min(28, dob.day + random.choice([-1, 1])))).isoformat()
        except ValueError: p["dob"] = dob.isoformat()
    else: p["dob"] = dob.isoformat()
    if random.random() < .7: p["sex"] = m["sex"]
    if random.random() < nhs_p: p["nhs_number"] = m["nhs"]
    moved = random.random() < .08
    a = {"lines": [m["moved_addr"] if moved else m["addr"]]}
    if random.random() < .8: a["postcode"] = m["moved_pc"] if moved else m["pc"]
    if random.random() < .9: p["address"] = a
    return p
CSV = "--csv" in sys.argv[4:]
if CSV:
    import csv
    rows = csv.writer(open(sys.argv[3] + ".csv", "w", newline=""), lineterminator="\n")
    rows.writerow(["record_id", "person_id", "given_names", "family_name", "dob", "sex", "postcode", "address", "nhs_number"])
    class Sink:
        def write(self, _): pass
    truth = out = Sink()
else:
    truth = open(sys.argv[3] + ".truth.csv", "w"); truth.write("agency,record_id,ref,person\n")
    out = open(sys.argv[3] + ".jsonl", "w")
def row(rid, who, p):
    a = p.get("address") or {}
    rows.writerow([f"{rid}{p['ref']}", who["id"], p["given_names"], p["family_name"], p.get("dob", ""), p.get("sex", ""),
                   a.get("postcode", ""), " ".join(a.get("lines", [])), p.get("nhs_number", "")])
n = 0
for members in households:
    for m in members:
        for _ in range(random.randint(1, 4)):
            agency, kind, nhs_p = random.choice(AG)
            if agency.startswith("school") and not m.get("child"): continue
            n += 1; rid = f"R{n:07d}"
            persons = [mention(m, "s", "subject", nhs_p, agency)]
            truth.write(f"{agency},{rid},s,{m['id']}\n")
            if CSV: row(rid, m, persons[0])
            adults = [x for x in members if not x.get("child") and x is not m]
            if m.get("child") and adults and random.random() < .5:
                a = random.choice(adults)
                persons.append(mention(a, "a", "parent", nhs_p, agency))
                truth.write(f"{agency},{rid},a,{a['id']}\n")
                if CSV: row(rid, a, persons[-1])
            rec = {"source": {"agency": agency, "record_id": rid, "version": 1}, "kind": kind,
                   "occurred_at": "2021-03-01", "persons": persons}
            if kind == "health.ed_attendance": rec["outcome"] = {"admitted": False}
            if not CSV: out.write(json.dumps(rec) + "\n")
print(n, "records", len(people), "people", file=sys.stderr)
