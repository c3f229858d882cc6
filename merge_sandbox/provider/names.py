"""Word lists for generating believable people and organisations."""


def _words(text: str) -> list[str]:
    return text.split()


FIRST_NAMES = _words(
    """
James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan
Joseph Jessica Thomas Sarah Christopher Karen Charles Lisa Daniel Nancy Matthew Betty Anthony Sandra
Mark Margaret Donald Ashley Steven Kimberly Andrew Emily Paul Donna Joshua Michelle Kenneth Carol Kevin
Amanda Brian Melissa George Deborah Timothy Stephanie Ronald Dorothy Jason Rebecca Edward Sharon Jeffrey
Laura Ryan Cynthia Jacob Amy Gary Kathleen Nicholas Angela Eric Shirley Jonathan Brenda Stephen Emma
Larry Anna Justin Pamela Scott Nicole Brandon Samantha Benjamin Katherine Samuel Christine Gregory Helen
Alexander Debra Patrick Rachel Frank Carolyn Raymond Janet Jack Maria Dennis Catherine Jerry Heather
Tyler Diane Aaron Olivia Jose Julie Adam Joyce Nathan Victoria Henry Ruth Zachary Virginia Douglas
Lauren Peter Kelly Kyle Christina Noah Joan Ethan Evelyn Jeremy Judith Christian Andrea Walter Hannah
Keith Megan Austin Cheryl Roger Jacqueline Terry Martha Sean Madison Gerald Teresa Carl Gloria Dylan
Sara Harold Janice Jordan Ann Jesse Kathryn Bryan Abigail Lawrence Sophia Arthur Frances Gabriel Jean
Bruce Alice Logan Judy Billy Isabella Joe Julia Alan Grace Juan Amber Elijah Denise Willie Danielle
Albert Marilyn Wayne Beverly Randy Charlotte Mason Natalie Vincent Theresa Liam Diana Roy Brittany Bobby
Doris Caleb Kayla Bradley Alexis Russell Lori Lucas Marie Priya Wei Aisha Mateo Sofia Yuki Omar Fatima
Arjun Mei Carlos Ingrid Lars Chloe Hugo Leila Ravi Elena Kenji Amara Diego Zara Felix Nadia
"""
)

LAST_NAMES = _words(
    """
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez
Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez
Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker
Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards
Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey
Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza
Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry
Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan
Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera
Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald
Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson
Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black
Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols
Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen
Peters Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews
Alvarado Ray Delgado Berry Perkins Hoffman Johnston Matthews Pena Richards Contreras Willis Carpenter
Lawrence Sandoval Okafor Nakamura Larsen Novak Schneider Rossi Dubois Kowalski Andersson Sato Singh
Haddad Ibrahim Costa Yilmaz
"""
)

DEPARTMENTS: dict[str, tuple[list[str], list[str]]] = {
    "Engineering": (
        [
            "Platform",
            "Infrastructure",
            "Mobile",
            "Web",
            "Data",
            "Security",
            "Quality",
            "Developer Experience",
        ],
        [
            "Software Engineer",
            "Senior Software Engineer",
            "Staff Engineer",
            "Site Reliability Engineer",
            "Data Engineer",
            "QA Engineer",
            "Security Engineer",
        ],
    ),
    "Sales": (
        [
            "Enterprise Sales",
            "Mid-Market Sales",
            "SMB Sales",
            "Sales Development",
            "Sales Operations",
            "Partnerships",
            "Solutions Engineering",
            "Renewals",
        ],
        [
            "Account Executive",
            "Senior Account Executive",
            "Sales Development Representative",
            "Solutions Engineer",
            "Sales Operations Analyst",
        ],
    ),
    "Marketing": (
        [
            "Brand",
            "Demand Generation",
            "Product Marketing",
            "Content",
            "Events",
            "Growth",
            "Communications",
            "Marketing Operations",
        ],
        [
            "Marketing Manager",
            "Content Strategist",
            "Product Marketing Manager",
            "Designer",
            "Growth Analyst",
        ],
    ),
    "Finance": (
        ["Accounting", "FP&A", "Payroll", "Procurement", "Tax", "Treasury", "Revenue Operations", "Audit"],
        ["Accountant", "Senior Accountant", "Financial Analyst", "Payroll Specialist", "Buyer"],
    ),
    "People": (
        [
            "Recruiting",
            "People Operations",
            "Learning",
            "Total Rewards",
            "HR Business Partners",
            "Workplace",
            "Diversity",
            "People Analytics",
        ],
        ["Recruiter", "HR Generalist", "People Partner", "Learning Specialist", "Compensation Analyst"],
    ),
    "Customer Success": (
        [
            "Onboarding",
            "Support",
            "Customer Success Management",
            "Professional Services",
            "Support Operations",
            "Training",
            "Community",
            "Escalations",
        ],
        ["Customer Success Manager", "Support Engineer", "Implementation Consultant", "Support Specialist"],
    ),
    "Product": (
        [
            "Product Management",
            "Design",
            "Research",
            "Analytics",
            "Product Operations",
            "Documentation",
            "Localization",
            "Accessibility",
        ],
        [
            "Product Manager",
            "Senior Product Manager",
            "Product Designer",
            "UX Researcher",
            "Technical Writer",
        ],
    ),
    "Operations": (
        ["IT", "Legal", "Facilities", "Business Operations", "Compliance", "Risk", "Strategy", "Logistics"],
        ["IT Specialist", "Legal Counsel", "Operations Analyst", "Compliance Analyst", "Office Coordinator"],
    ),
}

LOCATIONS: list[tuple[str, str, str, str, str, str, str]] = [
    ("San Francisco HQ", "500 Howard St", "San Francisco", "CA", "94105", "US", "+1 415 555 0100"),
    ("New York Office", "85 Broad St", "New York", "NY", "10004", "US", "+1 212 555 0188"),
    ("Austin Office", "600 Congress Ave", "Austin", "TX", "78701", "US", "+1 512 555 0142"),
    ("London Office", "1 Finsbury Ave", "London", "England", "EC2M 2PF", "GB", "+44 20 7946 0018"),
    ("Berlin Office", "Friedrichstrasse 68", "Berlin", "Berlin", "10117", "DE", "+49 30 5555 0133"),
    ("Toronto Office", "100 King St W", "Toronto", "ON", "M5X 1A9", "CA", "+1 416 555 0170"),
    ("Sydney Office", "200 George St", "Sydney", "NSW", "2000", "AU", "+61 2 5550 1234"),
    ("Remote (US)", "", "", "", "", "US", ""),
]

INDUSTRIES = [
    "Software",
    "Manufacturing",
    "Healthcare",
    "Financial Services",
    "Retail",
    "Education",
    "Logistics",
    "Energy",
    "Media",
    "Hospitality",
    "Construction",
    "Telecommunications",
]

COMPANY_WORDS = [
    "Northwind",
    "Contoso",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Tyrell",
    "Acme",
    "Hooli",
    "Vandelay",
    "Wonka",
    "Cyberdyne",
    "Soylent",
    "Massive",
    "Oceanic",
    "Pied Piper",
    "Aperture",
    "Gringotts",
    "Monarch",
    "Nakatomi",
    "Virtucon",
    "Dunder",
    "Sterling",
    "Prestige",
    "Blue Sun",
    "Octan",
    "Zorg",
]
COMPANY_SUFFIXES = ["Inc", "LLC", "Group", "Labs", "Systems", "Holdings", "Partners", "Co"]

CRM_TITLES = [
    "Account Executive",
    "Sales Manager",
    "Sales Development Representative",
    "Sales Director",
    "Customer Success Manager",
    "Solutions Engineer",
    "Sales Operations Analyst",
]
