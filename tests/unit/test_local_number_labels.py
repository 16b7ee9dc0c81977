"""Number labels (:mod:`agentkit.backends.local.number_labels`): a number the request writes with
another argument's name beside it ("3 rooms", "an area of 2500 square feet") is not offered to the
argument it is not for, in a first call and a later one alike; an argument several numbers are
labelled for takes them in order, one call each."""

from __future__ import annotations

from agentkit.backends.local.number_labels import label_owners, name_words, number_labels
from agentkit.backends.local.request_values import numbers_in
from tests.grammar_matching import admits, call_text, object_tool, one_call_grammar

HOUSE = object_tool("predict_house_price", area="integer", rooms="integer", year="integer")
PRESENT_VALUE = object_tool(
    "present_value", payment_per_year="integer", interest_rate="number", years="integer"
)


def _labels(text: str) -> dict[str, frozenset[str]]:
    positions = sorted({position for position, _ in numbers_in(text)})
    return {
        text[position:].split()[0].rstrip(",."): label
        for position, label in number_labels(text, positions).items()
    }


def test_a_label_is_the_words_beside_a_number_shared_by_a_list() -> None:
    labels = _labels("An investment paying $1000 per year, at 5%, for 10, 20 and 30 years.")
    assert labels["1000"] >= {"paying", "per_year"}  # "per" makes a unit, not the word "year"
    assert labels["10"] == labels["20"] == labels["30"] == {"year"}  # the list shares its label
    assert labels["5%"] == frozenset()
    # a word after one number is not also the label of the next ("5% annual yield after 3 years")
    labels = _labels("A 5% annual yield after 3 years.")
    assert labels["5%"] == {"annual", "yield"} and labels["3"] == {"year"}
    # nor does a label reach across "and", a comma or another number
    labels = _labels("A player with 180 hits and 600 at-bats, a=1, b=-3")
    assert labels["600"] == {"at-bat"} and labels["1"] == frozenset() and labels["-3"] == {"b"}


def test_a_number_belongs_to_the_argument_its_label_names_best() -> None:
    assert name_words("payment_per_year") == {"payment", "per_year"}
    assert name_words("outstandingShares") == {"outstanding", "share"}
    labels = {1: frozenset({"annual", "return", "rate"}), 2: frozenset({"year"}), 3: frozenset({"value"})}
    owners = label_owners(labels, ["annual_return", "years", "initial_value", "final_value"])
    assert owners == {1: "annual_return", 2: "years"}  # "value" names two: no owner


def test_a_number_labelled_for_another_argument_is_not_offered() -> None:
    question = (
        "Predict the price of a house with an area of 2500 square feet, 3 rooms, built in the year 2000."
    )
    grammar = one_call_grammar(HOUSE, question)
    assert admits(grammar, call_text("predict_house_price", {"area": 2500, "rooms": 3, "year": 2000}))
    assert not admits(grammar, call_text("predict_house_price", {"area": 2500, "rooms": 2500, "year": 2000}))
    assert not admits(grammar, call_text("predict_house_price", {"area": 3, "rooms": 3, "year": 2000}))
    # numbers without labels stay open to every argument
    bare = one_call_grammar(HOUSE, "Predict the price of a house: 2500, 3 and 2000.")
    assert admits(bare, call_text("predict_house_price", {"area": 3, "rooms": 2500, "year": 2000}))


def test_a_list_labelled_once_keeps_its_numbers_from_other_arguments() -> None:
    question = "The present value of $1000 per year at 5% for 10, 20 and 30 years."
    grammar = one_call_grammar(PRESENT_VALUE, question)
    good = {"payment_per_year": 1000, "interest_rate": 0.05, "years": 10}
    assert admits(grammar, call_text("present_value", good))
    assert not admits(grammar, call_text("present_value", {**good, "payment_per_year": 10, "years": 1000}))


def test_a_later_call_is_not_offered_a_number_labelled_for_another_argument() -> None:
    question = (
        "Predict the price of a house with an area of 2500 square feet, 3 rooms, built in the year 2000, "
        "and of one with an area of 3000 square feet, 4 rooms, built in the year 2005."
    )
    first = ("predict_house_price", {"area": 2500, "rooms": 3, "year": 2000})
    grammar = one_call_grammar(HOUSE, question, [first])
    assert admits(grammar, call_text("predict_house_price", {"area": 3000, "rooms": 4, "year": 2005}))
    assert not admits(grammar, call_text("predict_house_price", {"area": 3000, "rooms": 3000, "year": 2005}))


def test_an_argument_every_number_is_labelled_away_from_keeps_them() -> None:
    spec = object_tool("triangle_area", base="integer", height="integer")
    grammar = one_call_grammar(spec, "The area of a triangle whose base and height are 6cm and 10cm.")
    assert admits(grammar, call_text("triangle_area", {"base": 6, "height": 10}))


def test_labels_are_read_in_time_linear_in_the_request() -> None:
    text = " ".join(f"{i} rooms and" for i in range(2000))
    positions = sorted({position for position, _ in numbers_in(text)})
    labels = number_labels(text, positions)
    assert len(labels) == len(positions) and all(label <= {"room"} for label in labels.values())


FUTURE_VALUE = object_tool(
    "future_value", present_value="integer", annual_interest_rate="number", number_of_years="integer"
)
FUTURE = "The future value of an investment of $1000 at an annual interest rate of 5% for 1, 5 and 10 years."


def test_the_first_of_several_calls_takes_the_first_number_of_its_label() -> None:
    grammar = one_call_grammar(FUTURE_VALUE, FUTURE)
    first = {"present_value": 1000, "annual_interest_rate": 0.05, "number_of_years": 1}
    assert admits(grammar, call_text("future_value", first))
    assert not admits(grammar, call_text("future_value", {**first, "number_of_years": 10}))
    # one number with the label: nothing to choose among
    single = one_call_grammar(
        FUTURE_VALUE, FUTURE.replace("1, 5 and 10 years", "10 years, and also for 1000")
    )
    assert admits(single, call_text("future_value", {**first, "number_of_years": 10}))


def test_a_later_call_takes_the_next_number_of_its_label() -> None:
    first = {"present_value": 1000, "annual_interest_rate": 0.05, "number_of_years": 1}
    grammar = one_call_grammar(FUTURE_VALUE, FUTURE, [("future_value", first)])
    assert admits(grammar, call_text("future_value", {**first, "number_of_years": 5}))
    assert not admits(grammar, call_text("future_value", {**first, "number_of_years": 10}))
    assert not admits(grammar, call_text("future_value", {**first, "number_of_years": 1}))
    second = {**first, "number_of_years": 5}
    grammar = one_call_grammar(FUTURE_VALUE, FUTURE, [("future_value", first), ("future_value", second)])
    assert admits(grammar, call_text("future_value", {**first, "number_of_years": 10}))
    assert not admits(grammar, call_text("future_value", {**first, "number_of_years": 5}))


def test_a_label_stops_at_a_function_word_and_matches_words_give_or_take_an_ending() -> None:
    labels = _labels("A group of 50 with extroverted members being 15.")
    assert labels["50"] == {"group"}  # "with extroverted" is the next phrase's
    owners = label_owners({1: frozenset({"weigh"}), 2: frozenset({"extroverted"})}, ["weight", "extroverts"])
    assert owners == {1: "weight", 2: "extroverts"}
    # short words must be the same word: "rated" is no "rate", "yearly" no "year"
    assert label_owners({1: frozenset({"rated"}), 2: frozenset({"yearly"})}, ["rate", "year"]) == {}


BMI = object_tool("calculate_bmi", weight="integer", height="integer")
PEOPLE = (
    "The BMI of three people: the first person weighs 85 kilograms and is 175 centimeters tall, the "
    "second weighs 60 kilograms and is 160 centimeters tall, the third weighs 75 kilograms and is "
    "180 centimeters tall."
)


def test_each_call_takes_the_next_of_the_numbers_its_label_carries() -> None:
    grammar = one_call_grammar(BMI, PEOPLE)
    assert admits(grammar, call_text("calculate_bmi", {"weight": 85, "height": 175}))
    assert not admits(grammar, call_text("calculate_bmi", {"weight": 60, "height": 175}))
    grammar = one_call_grammar(BMI, PEOPLE, [("calculate_bmi", {"weight": 85, "height": 175})])
    assert admits(grammar, call_text("calculate_bmi", {"weight": 60, "height": 160}))
    assert not admits(grammar, call_text("calculate_bmi", {"weight": 160, "height": 75}))


def test_the_first_labelled_number_is_taken_even_past_the_front_of_the_request() -> None:
    spec = object_tool(
        "return_on_investment", purchase_price="integer", sale_price="integer", dividend="integer"
    )
    question = (
        "I bought one stock at $150, another at $200, and another at $250, and sold them at $180, $210 "
        "and $300 respectively. I received dividends of $20, $30, and $40. The return of each?"
    )
    grammar = one_call_grammar(spec, question)
    good = {"purchase_price": 150, "sale_price": 180, "dividend": 20}
    assert admits(grammar, call_text("return_on_investment", good))
    assert not admits(grammar, call_text("return_on_investment", {**good, "dividend": 250}))
