"""The data-utilisation project competition (データ活用事例創出事業 公募型企画コンペ, issue 41): the call, its
questions and answers, project groups' declarations and proposals (docs/competition.md)."""
