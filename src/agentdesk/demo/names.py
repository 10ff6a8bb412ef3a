"""Small name and place lists for the synthetic demo population (common US given and family names, New England
towns). Shipped with the app so the demo needs no generator library and is the same on every machine for a seed."""

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FEMALE_GIVEN = _words(
    "Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty Sandra Margaret "
    "Ashley Kimberly Emily Donna Michelle Carol Amanda Melissa Deborah Stephanie Dorothy Rebecca Sharon Laura "
    "Cynthia Amy Kathleen Angela Shirley Brenda Emma Anna Pamela Nicole Samantha Katherine Christine Helen Debra "
    "Rachel Carolyn Janet Maria Catherine Heather Diane Olivia Julie Joyce Victoria Ruth Virginia Lauren Kelly "
    "Christina Joan Evelyn Judith Andrea Hannah Megan Cheryl Jacqueline Martha Madison Teresa Gloria Sara Janice "
    "Ann Kathryn Abigail Sophia Frances Jean Alice Judy Isabella Julia Grace Amber Denise Danielle Marilyn Beverly "
    "Charlotte Natalie Theresa Diana Brittany Doris Kayla Alexis Lori Marie Ana Lucia Mai Linh Ines Rosa"
)
MALE_GIVEN = _words(
    "James Robert John Michael David William Richard Joseph Thomas Christopher Charles Daniel Matthew Anthony Mark "
    "Donald Steven Andrew Paul Joshua Kenneth Kevin Brian Timothy Ronald George Jason Edward Jeffrey Ryan Jacob "
    "Nicholas Gary Eric Jonathan Stephen Larry Justin Scott Brandon Benjamin Samuel Gregory Alexander Patrick "
    "Frank Raymond Jack Dennis Jerry Tyler Aaron Jose Adam Nathan Henry Zachary Douglas Peter Kyle Noah Ethan "
    "Jeremy Christian Walter Keith Austin Roger Terry Sean Gerald Carl Dylan Harold Jordan Jesse Bryan Lawrence "
    "Arthur Gabriel Bruce Logan Billy Joe Alan Juan Albert Willie Elijah Wayne Randy Vincent Mason Roy Ralph "
    "Bobby Russell Bradley Philip Eugene Luis Carlos Miguel Duc Minh Joao Pedro"
)
FAMILY = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis "
    "Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera "
    "Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart "
    "Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim "
    "Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo "
    "Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler "
    "Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds "
    "Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford "
    "Castro Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman "
    "Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon "
    "Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice "
    "Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer "
    "Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong "
    "Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado Berry Perkins Hoffman Johnston Matthews Pena Richards "
    "Willis Carpenter Lawrence Sandoval Pham Le Oliveira Souza Costa Pereira O'Brien Doherty Fitzgerald"
)
STREETS = _words(
    "Main Elm Maple Oak Pine Cedar Washington Lincoln Park School Church Water High Pleasant Summer Winter Spring "
    "Prospect Highland Center Union Chestnut Walnut Franklin Adams Mill River Lake Hill Forest Central Beacon "
    "Harbor Bridge Grove Warren Green North South Pearl Liberty Academy Bay"
)
STREET_KINDS = ("St", "Ave", "Rd", "Ln", "Dr", "Way", "Ct", "Pl", "Ter")
# State -> (towns, ZIP prefixes): addresses look local to the fictional health system's region
TOWNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "MA": (
        ("Boston", "Worcester", "Springfield", "Cambridge", "Lowell", "Brockton", "Quincy", "Lynn", "Newton",
         "Somerville", "Framingham", "Salem", "Waltham", "Medford", "Taunton", "Plymouth", "Pittsfield"),
        ("010", "012", "014", "016", "017", "018", "019", "020", "021", "023", "024", "026"),
    ),
    "RI": (("Providence", "Warwick", "Cranston", "Pawtucket", "Newport", "Woonsocket", "Westerly"), ("028", "029")),
    "NH": (("Manchester", "Nashua", "Concord", "Dover", "Rochester", "Keene", "Portsmouth"), ("030", "031", "033")),
    "ME": (("Portland", "Lewiston", "Bangor", "Auburn", "Biddeford", "Augusta"), ("040", "041", "043")),
}  # fmt: skip
