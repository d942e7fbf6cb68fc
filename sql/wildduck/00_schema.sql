-- wildduck: mail platform dashboard (document 000_e9227f415310e5cb.txt).
CREATE SCHEMA wildduck;
