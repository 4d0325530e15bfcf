"""One facility, many rows: rows sharing a facility key merge into one service (medications, languages,
phones united); the SAMHSA importer sets the medication flags; `id_columns` keeps programs at one address
apart."""

from __future__ import annotations

import pytest

from scrapers import generic_csv, samhsa
from scrapers.common import SourceError

LOCATOR = (
    "name1,name2,street1,street2,city,state,zip,zip4,county,latitude,longitude,Medication,Phone,Language\n"
    "Harbor Clinic,,1 Pine St,,Seattle,WA,98101,,King,47.61,-122.33,Methadone,206-555-0100,Spanish\n"
    "Harbor Clinic,,1 Pine St,,Seattle,WA,98101,,King,47.61,-122.33,Buprenorphine (Suboxone),206-555-0101,\n"
    "Harbor Clinic,,1 Pine St,,Seattle,WA,98101,,King,47.61,-122.33,Naltrexone,206-555-0100,Vietnamese\n"
    "Other Place,,9 Elm St,,Seattle,WA,98101,,King,47.62,-122.34,Methadone,,\n"
)


def medications(service) -> set[str]:
    """The medication flags set on a service (other flags, such as part2_program, left out)."""
    return {k for k, v in service.flags.items() if v and k.startswith("moud_")}


def test_samhsa_rows_of_one_facility_are_one_service_with_every_medication(tmp_path):
    path = tmp_path / "locator.csv"
    path.write_text(LOCATOR, encoding="utf-8")
    result = samhsa.parse(path)
    services = {s.name: s for s in result.services}
    assert set(services) == {"Harbor Clinic", "Other Place"}
    assert all(s.flags.get("part2_program") for s in services.values())  # SAMHSA facilities are Part 2
    harbor = services["Harbor Clinic"]
    assert medications(harbor) == {
        "moud_methadone",
        "moud_buprenorphine",
        "moud_naltrexone",
    }
    assert [p.number for p in harbor.phones] == ["206-555-0100", "206-555-0101"]
    assert sorted(lang.code for lang in harbor.languages) == ["es", "vi"]
    assert medications(services["Other Place"]) == {"moud_methadone"}
    counts = result.outcome("service")
    assert (counts["read"], counts["kept"], counts["merged"], counts["rejected"]) == (4, 2, 2, 0)
    assert len(result.locations) == 2


def test_samhsa_without_merging_keeps_the_first_row_only(tmp_path):
    path = tmp_path / "locator.csv"
    path.write_text(LOCATOR, encoding="utf-8")
    result = samhsa.parse(path, merge_by=False)
    harbor = next(s for s in result.services if s.name == "Harbor Clinic")
    assert medications(harbor) == {"moud_methadone"}
    assert result.outcome("service")["merged"] == 2  # still accounted for, not lost


def test_a_facility_never_gets_a_medication_its_rows_do_not_name(tmp_path):
    path = tmp_path / "locator.csv"
    path.write_text(
        "name1,street1,city,state,zip,latitude,longitude,services\n"
        "Methadone-free Recovery,1 Pine St,Seattle,WA,98101,47.61,-122.33,Outpatient counseling\n",
        encoding="utf-8",
    )
    [service] = samhsa.parse(path).services
    assert not medications(service)  # a name that mentions methadone is not a medication column


SHEET = (
    "Program ID,Site,Program,Street,Town,St,Zip,Phone,Languages,Meds\n"
    "P1,North,Recovery Program,1 Pine St,Seattle,WA,98101,206-555-0100,English,methadone\n"
    "P1,North,Recovery Program,1 Pine St,Seattle,WA,98101,206-555-0102,Somali,naltrexone\n"
    "P1,South,Recovery Program,5 Oak St,Seattle,WA,98108,206-555-0103,English,\n"
)


def mapping(**extra) -> dict:
    columns = {"id": "Program ID", "name": "Program", "address_1": "Street", "city": "Town", "state": "St"}
    columns |= {"zip": "Zip", "phone": "Phone", "languages": "Languages", "medications": "Meds"}
    return {"columns": columns, "domain": "substance_use_treatment", **extra}


def test_generic_merge_by_unites_rows_and_id_columns_keep_programs_apart(tmp_path):
    path = tmp_path / "sheet.csv"
    path.write_text(SHEET, encoding="utf-8")
    result = generic_csv.parse(
        path, mapping(merge_by=["name", "address_1"], id_columns=["program id", "SITE"])
    )
    services = {s.source_id: s for s in result.services}
    assert set(services) == {"P1|North", "P1|South"}
    north = services["P1|North"]
    assert [p.number for p in north.phones] == ["206-555-0100", "206-555-0102"]
    assert sorted(lang.code for lang in north.languages) == ["en", "so"]
    assert medications(north) == {"moud_methadone", "moud_naltrexone"}
    assert not medications(services["P1|South"])
    counts = result.outcome("service")
    assert (counts["read"], counts["kept"], counts["merged"], counts["rejected"]) == (3, 2, 1, 0)


def test_generic_without_merge_or_id_columns_a_repeated_id_is_a_duplicate(tmp_path):
    path = tmp_path / "sheet.csv"
    path.write_text(SHEET, encoding="utf-8")
    result = generic_csv.parse(path, mapping())
    assert [s.source_id for s in result.services] == ["P1"]
    assert result.outcome("service")["rejected"] == 2


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"merge_by": "name"}, "merge_by must be a list"),
        ({"merge_by": ["nmae"]}, "did you mean 'name'"),
        ({"id_columns": ["Program ID", "Nope"]}, "Nope"),
    ],
)
def test_bad_merge_options_are_refused_before_a_row_is_read(tmp_path, extra, message):
    path = tmp_path / "sheet.csv"
    path.write_text(SHEET, encoding="utf-8")
    with pytest.raises(SourceError, match=message):
        generic_csv.parse(path, mapping(**extra))
