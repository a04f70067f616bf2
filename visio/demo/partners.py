"""The partners of the demo, what citizens come to see them about, and their agents."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class MotiveSpec:
    """A reason to book a partner, how long it takes and what to bring."""

    name: str
    minutes: int
    documents: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class PartnerSpec:
    """A partner with its motives, its agents and what the desk records for it."""

    code: str
    name: str
    # Its share of the desk's requests, and of the visio sessions drawn for the past.
    weight: int
    motives: tuple[MotiveSpec, ...]
    agents: tuple[str, ...]
    # The kinds of request the desk notes when a citizen walks in or calls about it.
    desk_kinds: tuple[str, ...]

    @property
    def email_domain(self) -> str:
        """The domain of its agents' addresses."""
        return f"{self.code.lower()}.example"


PARTNERS = (
    PartnerSpec(
        code="FT",
        name="France Travail",
        weight=30,
        motives=(
            MotiveSpec(
                "Inscription et actualisation",
                45,
                ("Pièce d'identité", "CV à jour", "Attestation employeur"),
            ),
            MotiveSpec("Entretien de suivi", 30, ("Identifiant France Travail",)),
            MotiveSpec(
                "Indemnisation chômage",
                30,
                ("Identifiant France Travail", "Relevé d'identité bancaire"),
            ),
        ),
        agents=("Claire Vidal", "Mathieu Roux", "Sandrine Chabrier"),
        desk_kinds=("Inscription", "Actualisation", "Attestation"),
    ),
    PartnerSpec(
        code="CAF",
        name="Caisse d'allocations familiales du Cantal",
        weight=25,
        motives=(
            MotiveSpec(
                "Prime d'activité et RSA",
                30,
                ("Numéro d'allocataire", "Trois derniers bulletins de salaire"),
            ),
            MotiveSpec(
                "Aide au logement", 30, ("Numéro d'allocataire", "Bail ou quittance de loyer")
            ),
            MotiveSpec("Changement de situation", 20, ("Numéro d'allocataire",)),
        ),
        agents=("Isabelle Delmas", "Thomas Bonnet", "Nadia Benali"),
        desk_kinds=("Prime d'activité", "Aide au logement", "RSA"),
    ),
    PartnerSpec(
        code="CPAM",
        name="Assurance maladie (CPAM du Cantal)",
        weight=20,
        motives=(
            MotiveSpec(
                "Complémentaire santé solidaire",
                30,
                ("Carte Vitale", "Avis d'imposition", "Justificatifs de ressources"),
            ),
            MotiveSpec("Indemnités journalières", 20, ("Carte Vitale", "Arrêt de travail")),
            MotiveSpec("Carte Vitale et droits", 20, ("Carte Vitale", "Pièce d'identité")),
        ),
        agents=("Julie Fabre", "Laurent Mazet"),
        desk_kinds=("Carte Vitale", "Remboursements", "Complémentaire santé"),
    ),
    PartnerSpec(
        code="ANTS",
        name="Ministère de l'Intérieur (ANTS)",
        weight=12,
        motives=(
            MotiveSpec(
                "Permis de conduire",
                20,
                ("Pièce d'identité", "Photo d'identité numérique (e-photo)"),
            ),
            MotiveSpec("Carte grise", 20, ("Certificat de cession", "Justificatif de domicile")),
            MotiveSpec(
                "Pré-demande de carte d'identité ou de passeport",
                20,
                ("Justificatif de domicile",),
            ),
        ),
        agents=("Céline Moreau", "Yannick Le Gall"),
        desk_kinds=("Carte grise", "Permis de conduire", "Carte d'identité"),
    ),
    PartnerSpec(
        code="DGFIP",
        name="Finances publiques (DGFiP)",
        weight=6,
        motives=(
            MotiveSpec(
                "Déclaration de revenus", 30, ("Numéro fiscal", "Dernier avis d'imposition")
            ),
            MotiveSpec("Paiement et réclamation", 20, ("Numéro fiscal", "Courrier reçu")),
        ),
        agents=("Pierre Lafon", "Émilie Vergne"),
        desk_kinds=("Impôt sur le revenu", "Taxe foncière"),
    ),
    PartnerSpec(
        code="MSA",
        name="MSA Auvergne",
        weight=4,
        motives=(
            MotiveSpec(
                "Retraite des exploitants agricoles", 45, ("Relevé de carrière", "Numéro MSA")
            ),
            MotiveSpec("Prestations familiales MSA", 30, ("Numéro MSA",)),
        ),
        agents=("Bernard Couderc",),
        desk_kinds=("Retraite agricole", "Cotisations"),
    ),
    PartnerSpec(
        code="CARSAT",
        name="Carsat Auvergne",
        weight=3,
        motives=(
            MotiveSpec("Préparer sa retraite", 45, ("Relevé de carrière", "Pièce d'identité")),
        ),
        agents=("Hélène Brunet",),
        desk_kinds=("Retraite",),
    ),
)
