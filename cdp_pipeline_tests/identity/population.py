"""A small seeded background population for identity tests.

Fellegi–Sunter learns its weights from the data, so a rule pinned on five hand-written records
needs a crowd around them: a few hundred people with the usual noise (nicknames, typos, missing
fields, several addresses, shared households). The hand-written story records of each test are
added on top; the crowd's own truth lets a test check that nothing else got merged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FIRST = ("Laura Carlos Elena Javier Lucia Pablo Marta Sergio Ana David Sofia Daniel Julia Alberto "
         "Irene Hugo Clara Mario Paula Adrian Emma Oliver Amelia George Isla Harry Ava Jack Mia "
         "Noah Grace Leo Chloe Oscar Ella Arthur Lily Henry Zoe Thomas Nora Felix Ines Ruben Alba "
         "Victor Eva Marco Giulia Luca").split()
LAST = ("Garcia Martinez Lopez Sanchez Perez Gomez Martin Jimenez Ruiz Hernandez Diaz Moreno Munoz "
        "Alvarez Romero Alonso Gutierrez Navarro Torres Dominguez Vazquez Ramos Gil Ramirez Serrano "
        "Blanco Molina Morales Suarez Ortega Delgado Castro Ortiz Rubio Marin Sanz Nunez Iglesias "
        "Medina Garrido Cortes Castillo Santos Lozano Guerrero Cano Prieto Mendez Cruz Calvo Gallego "
        "Vidal Leon Marquez Herrera Pena Flores Cabrera Campos Vega").split()
CITIES = (("Madrid", "280"), ("Barcelona", "080"), ("Valencia", "460"), ("Sevilla", "410"),
          ("Bilbao", "480"), ("Malaga", "290"), ("Zaragoza", "500"), ("Murcia", "300"))
STREETS = ("Calle Mayor", "Gran Via", "Calle Alcala", "Paseo del Prado", "Calle Serrano",
           "Avenida de America", "Calle Toledo", "Calle Princesa", "Calle Goya", "Ronda Sur")
COMPANIES = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne",
             "Tyrell", "Cyberdyne", "Soylent", "Wonka", "Oscorp", "Monarch", "Aperture")
TITLES = ("Data Analyst", "Head of Sales", "Nurse", "Teacher", "Software Engineer", "Sr. Accountant", "CFO",
          "Marketing Manager", "Office Manager", "Consultant", "Designer", "VP, Operations")
PROVIDERS = ("gmail.com", "yahoo.es", "hotmail.com", "outlook.com")
TYPO = {"gmail.com": "gmial.com", "hotmail.com": "hotmal.com", "yahoo.es": "yahoo.es",
        "outlook.com": "outlok.com"}


def _strip(text: str) -> str:
    return text.lower().replace(" ", "")


def population(persons: int = 300, seed: int = 7):
    """(frames, truth): canonical-like rows per extract and the truth records frame."""
    rng = np.random.default_rng(seed)
    # Job titles from a random stream of their own, so the rest of the crowd is drawn as before.
    titles = np.random.default_rng(seed + 1).choice(TITLES, size=persons)
    people = []
    for i in range(persons):
        household = people[-1] if people and rng.random() < 0.15 else None
        first = str(rng.choice(FIRST))
        if household is not None:
            while first == household["first"]:
                first = str(rng.choice(FIRST))
        city, prefix = CITIES[rng.integers(len(CITIES))] if household is None else (household["city"], household["prefix"])
        person = {
            "id": f"T{i:05d}",
            "first": first,
            "last": household["last"] if household is not None else f"{rng.choice(LAST)} {rng.choice(LAST)}"
            if rng.random() < 0.2 else str(rng.choice(LAST)),
            "city": city,
            "prefix": prefix,
            "zip": household["zip"] if household is not None else f"{prefix}{rng.integers(10, 99)}",
            "street": household["street"] if household is not None
            else f"{rng.choice(STREETS)} {rng.integers(1, 120)}",
            "dob": f"{rng.integers(1950, 2003)}-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d}",
            "company": str(rng.choice(COMPANIES)),
            "title": str(titles[i]),
            "provider": str(rng.choice(PROVIDERS)),
            "phone": f"6{rng.integers(10_000_000, 99_999_999)}",
            "n": rng.integers(1, 999),
        }
        person["personal"] = f"{_strip(person['first'])}.{_strip(person['last'])}{person['n']}@{person['provider']}"
        person["work"] = f"{_strip(person['first'])[0]}{_strip(person['last'])}@{person['company'].lower()}.com"
        people.append(person)

    rows: dict[str, list[dict]] = {k: [] for k in ("crm_contacts", "webinar_attendees", "store_customers", "store_orders")}
    truth = []
    for p in people:
        first = p["first"] if rng.random() > 0.08 else p["first"][:-1] + p["first"][-1].upper()
        if rng.random() < 0.7:
            rid = f"R{p['id']}"
            rows["crm_contacts"].append({
                "record_id": rid, "first_name": first, "last_name": p["last"],
                "email": p["work"] if rng.random() < 0.5 else p["personal"],
                "phone": p["phone"] if rng.random() < 0.6 else None,
                "street_address": p["street"], "city": p["city"], "postal_code": p["zip"], "country": "Spain",
                "date_of_birth": p["dob"] if rng.random() < 0.5 else None, "company_name": p["company"],
                "job_title": p["title"], "last_modified_date": "2026-01-01T00:00:00Z",
            })
            truth.append(("crm", rid, p["id"]))
        if rng.random() < 0.5:
            wid = f"W{rng.integers(1, 6)}"
            email = p["work"]
            rows["webinar_attendees"].append({
                "webinar_id": wid, "first_name": p["first"], "last_name": p["last"].upper() if rng.random() < 0.2 else p["last"],
                "email": email, "organization": p["company"] if rng.random() < 0.7 else None, "job_title": p["title"],
                "country": "ES",
                "webinar_start": "2025-06-01T10:00:00Z", "attended": bool(rng.random() < 0.6),
            })
            truth.append(("webinar", f"{wid}:{email.strip().lower()}", p["id"]))
        if rng.random() < 0.4:
            cid = f"C{p['id']}"
            personal = p["personal"]
            if rng.random() < 0.1:
                personal = personal.replace(p["provider"], TYPO[p["provider"]])
            rows["store_customers"].append({
                "customer_id": cid, "first_name": first, "last_name": p["last"], "email": personal,
                "phone": ("+34 " + p["phone"]) if rng.random() < 0.5 else None, "address1": p["street"],
                "city": p["city"], "zip": p["zip"], "country_code": "ES", "updated_at": "2026-02-01T00:00:00Z",
            })
            truth.append(("store", cid, p["id"]))
            for k in range(int(rng.integers(0, 3))):
                oid = f"O{p['id']}{k}"
                rows["store_orders"].append({
                    "order_id": oid, "customer_id": cid, "email": p["personal"], "created_at": "2026-03-01T00:00:00Z",
                    "financial_status": "paid", "total": 20.0, "lineitem_sku": "S", "lineitem_quantity": 1,
                    "lineitem_price": 20.0, "billing_name": f"{p['first']} {p['last']}", "billing_street": p["street"],
                    "billing_city": p["city"], "billing_zip": p["zip"], "billing_country": "ES",
                })
                truth.append(("order", oid, p["id"]))
    truth_frame = pd.DataFrame(truth, columns=["source", "source_record_id", "true_person_id"])
    return rows, truth_frame
